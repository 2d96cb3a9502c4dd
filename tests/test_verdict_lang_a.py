"""The verdict channel for Bash, PHP and TypeScript through the real executor and bubblewrap sandbox: solutions that
try to get `pass` without the tests completing (an exit at load, exit traps and hooks, builtins or assertions switched
off, swallowed failures) do not get it, while correct rows in idiomatic forms (tests that source the solution or run
it as a program, tests that end with exit 0, console.assert, promises, JavaScript-style TypeScript) pass."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.execution import toolchains
from dataset_builder.execution.executor import Executor, Job, Result
from dataset_builder.execution.languages import shell, typescript
from dataset_builder.execution.sandbox import Bwrap, Limits
from dataset_builder.stages.execute import language_options

LIMITS = Limits(wall_seconds=30, cpu_seconds=30)
GOOD, BAD = "pass", ("fail", "tests_incomplete")


@pytest.fixture(scope="module")
def build():
    """A build folder the sandbox's unprivileged uid can enter (pytest's tmp_path is under a 700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="oss-verdict-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


def need(language: str) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    if toolchains.find(language) is None:
        pytest.skip(f"{language} toolchain missing: {toolchains.install_hint(language)}")


def run_rows(build: Path, language: str, rows: dict[str, tuple[str, str]], **options) -> dict[str, Result]:
    """{name: (solution, tests)} through Executor.run (2 workers) -> {name: Result}."""
    executor = Executor(Bwrap(), LIMITS, workers=2, build_dir=build, options=options or None)
    base = int(time.monotonic_ns() % 10**9) * 100  # fresh keys: the module's rows share one build folder
    jobs = {base + i: name for i, name in enumerate(rows)}
    results = {
        jobs[job.key]: result for job, result in executor.run(Job(k, language, *rows[n]) for k, n in jobs.items())
    }
    executor.close()
    return results


def check(results: dict[str, Result], expected: dict[str, str | tuple[str, ...]]) -> None:
    """Every row's status is the expected one (or one of them); the message lists every row that is not."""
    wrong = []
    for name, want in expected.items():
        got = results[name]
        if got.status != want and got.status not in want:
            wrong.append(f"{name}: {got.status} (want {want}) {got.detail!r}\n{got.output[-600:]}")
    assert not wrong, "\n\n".join(wrong)


# ------------------------------------------------------------------------------------------------------------ Bash
SH_GOOD = "add() {\n    echo $(( $1 + $2 ))\n}\n"
SH_BAD = "add() {\n    echo $(( $1 - $2 ))\n}\n"
SH_TESTS = 'source ./solution.sh\n[ "$(add 2 3)" = 5 ] || { echo "add 2 3 failed"; exit 1; }\necho ok\n'
SH_PROGRAM_TESTS = '[ "$(bash ./solution.sh 2 3)" = 5 ] || { echo "wrong sum"; exit 1; }\n'

SH_FORGED = {  # wrong solutions that must not pass
    "exit 0 at the end of the solution": (SH_BAD + "exit 0\n", SH_TESTS),
    "trap 'exit 0' EXIT": (SH_BAD + "trap 'exit 0' EXIT\n", SH_TESTS),
    "an exit function": (SH_BAD + "exit() { :; }\n", SH_TESTS),
    "[ and test functions": (SH_BAD + "[() { builtin true; }\ntest() { builtin true; }\n", SH_TESTS),
    "echo and return functions": (
        SH_BAD + "echo() { builtin printf '5\\n'; }\nreturn() { :; }\n",
        'check() { [ "$(add 2 3)" = 5 ] || return 1; }\ncheck || exit 1\n',
    ),
    "enable -n exit": (SH_BAD + "enable -n exit\n", SH_TESTS),
    "an alias for exit": (SH_BAD + "shopt -s expand_aliases\nalias exit=:\n", SH_TESTS),
    "a read-only exit function": (SH_BAD + "exit() { :; }\nreadonly -f exit\n", SH_TESTS),
    "exit 0 from a solution function during the tests": (
        "add() { echo 5; exit 0; }\n",
        'add 2 3 >/dev/null\n[ "$(add 2 3)" = 6 ] || exit 1\n',
    ),
    "an exit function defined during the tests": (
        "add() { exit() { :; }; echo 1; }\n",
        'add 2 3 >/dev/null\n[ "$(add 2 3)" = 5 ] || exit 1\n',
    ),
    "set +e against tests with set -e": (SH_BAD + "set +e\n", 'set -e\n[ "$(add 2 3)" = 5 ]\necho ok\n'),
    "cd elsewhere": (SH_BAD + "cd /\n", SH_TESTS),
    "a wrong program": ("echo $(( $1 - $2 ))\n", SH_PROGRAM_TESTS),
    "wrong, tests ending in exit 0": (SH_BAD, SH_TESTS + "exit 0\n"),
    "the runner's functions called or replaced": (
        SH_BAD + "__oss_restore() { :; }\n__oss_finish\n",
        SH_TESTS,
    ),
    "the runner's finish called during the tests": ("add() { __oss_finish; }\n", SH_TESTS),
}
SH_HONEST = {  # right solutions in idiomatic forms that must pass
    "plain": (SH_GOOD, SH_TESTS),
    "no source line": (SH_GOOD, '[ "$(add 2 3)" = 5 ] || exit 1\n'),
    "source with a path": (
        SH_GOOD,
        'source "$(dirname "$0")/solution.sh" || exit 1\n[ "$(add 2 3)" = 5 ] || exit 1\n',
    ),
    "right, exit 0 at the end of the solution": (SH_GOOD + "exit 0\n", SH_TESTS),
    "right, tests ending in exit 0": (SH_GOOD, SH_TESTS + "exit 0\necho never reached; exit 1\n"),
    "a program run with arguments": ("echo $(( $1 + $2 ))\n", SH_PROGRAM_TESTS),
    "a program with a usage exit": (
        'if [ $# -ne 2 ]; then echo "usage: solution.sh A B" >&2; exit 1; fi\necho $(( $1 + $2 ))\n',
        SH_PROGRAM_TESTS,
    ),
    "a function exiting in a subshell": (
        'check_positive() { [ "$1" -gt 0 ] || { echo no; exit 3; }; echo yes; }\n',
        '[ "$(check_positive 2)" = yes ] || exit 1\n( check_positive -1 >/dev/null ); [ $? -eq 3 ] || exit 1\n',
    ),
    "tests with set -e and an exit trap": (
        SH_GOOD,
        (
            'set -euo pipefail\ntmp=$(mktemp)\ntrap \'rm -f "$tmp"\' EXIT\nadd 2 3 > "$tmp"\n'
            '[ "$(cat "$tmp")" = 5 ]\nexit 0\n'
        ),
    ),
}
SH_ROWS = SH_FORGED | SH_HONEST
SH_EXPECTED = dict.fromkeys(SH_FORGED, BAD) | dict.fromkeys(SH_HONEST, GOOD)


def test_shell_forged_passes_fail_and_honest_rows_pass(build):
    need("shell")
    results = run_rows(build, "shell", SH_ROWS)
    check(results, SH_EXPECTED)
    assert (
        "the solution called exit 0 during the tests"
        in results["exit 0 from a solution function during the tests"].detail
    )
    assert "exit: readonly function" in results["a read-only exit function"].output  # the runner's own exit
    assert "not by the runner" in results["the runner's finish called during the tests"].detail


def test_shell_layout():
    tc = {"bash": "/bin/bash"}
    plan = toolchains.SPECS["shell"].plan(tc, SH_GOOD, SH_TESTS, LIMITS, LIMITS)
    assert set(plan.files) == {"solution.sh", "test.sh", shell.RUNNER} and plan.reports
    assert plan.files["test.sh"].splitlines()[0] == "true" and plan.run == ["/bin/bash", shell.RUNNER, "source"]
    assert toolchains.SPECS["shell"].plan(tc, SH_GOOD, SH_PROGRAM_TESTS, LIMITS, LIMITS).run[-1] == "program"
    named = '# checks solution.sh\n[ "$(add 2 3)" = 5 ] || exit 1\n'  # named, not run: its functions are needed
    assert toolchains.SPECS["shell"].plan(tc, SH_GOOD, named, LIMITS, LIMITS).run[-1] == "source"
    for line in ("source ./solution.sh", ". solution.sh", 'source "${BASH_SOURCE%/*}/solution.sh"'):
        assert shell.without_source(f"{line} || exit 1\n") == "true || exit 1\n"
    assert shell.without_source("bash ./solution.sh 1 2\n") == "bash ./solution.sh 1 2\n"


# ------------------------------------------------------------------------------------------------------------- PHP
PHP_GOOD = "<?php\nfunction add($a, $b) {\n    return $a + $b;\n}\n"
PHP_BAD = "<?php\nfunction add($a, $b) {\n    return $a - $b;\n}\n"
PHP_TESTS = "<?php\nrequire_once 'solution.php';\nassert(add(2, 3) === 5);\necho \"ok\\n\";\n"

PHP_FORGED = {  # wrong solutions that must not pass
    "exit(0) at load": (PHP_BAD + "exit(0);\n", PHP_TESTS),
    "an exception handler exiting 0": (PHP_BAD + "set_exception_handler(function ($e) { exit(0); });\n", PHP_TESTS),
    "a shutdown function exiting 0": (PHP_BAD + "register_shutdown_function(function () { exit(0); });\n", PHP_TESTS),
    "assert_options(ASSERT_ACTIVE, 0)": (PHP_BAD + "@assert_options(ASSERT_ACTIVE, 0);\n", PHP_TESTS),
    "ini_set assert.active 0": (PHP_BAD + "ini_set('assert.active', '0');\n", PHP_TESTS),
    "ini_set zend.assertions 0": (PHP_BAD + "ini_set('zend.assertions', '0');\n", PHP_TESTS),
    "ini_set assert.exception 0": (PHP_BAD + "ini_set('assert.exception', '0');\n", PHP_TESTS),
    "assertions off during the tests": (
        "<?php\nfunction add($a, $b) {\n    ini_set('zend.assertions', '0');\n    return $a - $b;\n}\n",
        "<?php\n$x = add(1, 1);\nassert(add(2, 3) === 5);\n",
    ),
    "exit(0) from a solution function during the tests": (
        "<?php\nfunction add($a, $b) { exit(0); }\n",
        PHP_TESTS,
    ),
    "wrong, tests ending in exit(0)": (PHP_BAD, PHP_TESTS + "exit(0);\n"),
    "a wrong solution, tests that throw": (PHP_BAD, "<?php\nif (add(2, 3) !== 5) { throw new Exception('add'); }\n"),
    "the runner's end called at load": (PHP_BAD + "OssRunner::end();\n", PHP_TESTS),
    "the runner's exit for the tests called by the solution": (
        "<?php\nfunction add($a, $b) { \\OssRunner::testsExit(0); }\n",
        PHP_TESTS,
    ),
}
PHP_HONEST = {  # right solutions in idiomatic forms that must pass
    "right": (PHP_GOOD, PHP_TESTS),
    "right, tests ending in exit(0)": (PHP_GOOD, PHP_TESTS + "exit(0);\necho 'never reached';\nexit(1);\n"),
    "right, tests ending in die with a message": (
        PHP_GOOD,
        "<?php\nif (add(2, 3) !== 5) { echo 'wrong'; exit(1); }\ndie(\"all passed\\n\");\n",
    ),
    "strict types and globals": (
        (
            "<?php\ndeclare(strict_types=1);\n$base = 10;\nfunction addb(int $a): int {\n    global $base;\n"
            "    return $a + $base;\n}\n"
        ),
        (
            "<?php\ndeclare(strict_types=1);\n$one = 1;\nfunction t(): void {\n    global $one;\n"
            "    assert(addb($one) === 11);\n}\nt();\n"
        ),
    ),
}
PHP_ROWS = PHP_FORGED | PHP_HONEST
PHP_EXPECTED = dict.fromkeys(PHP_FORGED, BAD) | dict.fromkeys(PHP_HONEST, GOOD)


def test_php_forged_passes_fail_and_honest_rows_pass(build):
    need("php")
    results = run_rows(build, "php", PHP_ROWS)
    check(results, PHP_EXPECTED)
    assert results["exit(0) at load"].status == "tests_incomplete"
    assert results["a wrong solution, tests that throw"].status == "fail"  # the harness asks the tests to throw


def test_php_layout():
    plan = toolchains.SPECS["php"].plan({"php": "php"}, "function f() {}", "f();", LIMITS, LIMITS)
    assert set(plan.files) == {"solution.php", "test.php", "_oss_runner.php"} and plan.reports
    assert plan.run[-1] == "_oss_runner.php" and "zend.assertions=1" in plan.run


# ------------------------------------------------------------------------------------ solutions that do not parse
UNPARSED = {  # language: {name: (solution, tests, (status, stage))}
    "shell": {
        "an unclosed if": (
            "add() {\n    if [ 1 ]; then echo $(( $1 + $2 ))\n}\n",
            SH_TESTS,
            ("compile_error", "compile"),
        ),
        "extglob turned on by the solution": (
            "shopt -s extglob\nadd() {\n    local x=+(0)$1\n    echo $(( $1 + $2 ))\n}\n",
            SH_TESTS,
            ("pass", "run"),
        ),
        "a program that does not parse": ("echo $(( $1 + $2 )\n", SH_PROGRAM_TESTS, ("compile_error", "compile")),
        "wrong, printing a parse error": (
            SH_BAD + "echo 'unparsed 00 solution.sh does not parse'\necho 'syntax error near unexpected token' >&2\n",
            SH_TESTS,
            ("fail", "run"),
        ),
    },
    "php": {
        "a missing brace": (
            "<?php\nfunction add($a, $b) {\n    return $a + $b;\n",
            PHP_TESTS,
            ("compile_error", "compile"),
        ),
        "wrong, printing a parse error": (
            PHP_BAD + 'fwrite(STDERR, "PHP Parse error:  syntax error\\n");\n',
            PHP_TESTS,
            ("compile_error", "run"),  # the printed text names the failure; only the runner's word is the stage's
        ),
    },
}


@pytest.mark.parametrize("language", list(UNPARSED))
def test_a_solution_that_does_not_parse_is_the_runners_compile_error(build, language):
    """The runner checks that the solution parses before any of it runs (Bash: `bash -n`, PHP: a full parse by
    token_get_all) and says so on the verdict channel: `compile_error` at the compile stage, so a mutant that does not
    parse is not valid. Code that only prints a parse error gets no such verdict (only the runner has the token)."""
    need(language)
    rows = {name: (solution, tests) for name, (solution, tests, _) in UNPARSED[language].items()}
    results = run_rows(build, language, rows)
    got = {name: (r.status, r.stage) for name, r in results.items()}
    assert got == {name: want for name, (_, _, want) in UNPARSED[language].items()}, {
        name: results[name].output[-400:] for name in got
    }
    for name, (_, _, (_, stage)) in UNPARSED[language].items():
        if stage == "compile":
            assert results[name].detail == f"solution.{'sh' if language == 'shell' else 'php'} does not parse"


# ------------------------------------------------------------------------------------------------------ TypeScript
TS_GOOD = "export function add(a: number, b: number): number { return a + b; }\n"
TS_BAD = "export function add(a: number, b: number): number { return a - b; }\n"
TS_TESTS = "import assert from 'assert';\nimport { add } from './solution';\n\nassert.strictEqual(add(2, 3), 5);\n"
TS_ASYNC = (
    "import assert from 'assert';\nasync function main() {\n    await new Promise((r) => setTimeout(r, 20));\n"
    "    assert.strictEqual(add(2, 3), 5);\n}\nmain();\n"
)
TS_CONSOLE_ASSERT = "console.assert(add(2, 3) === 5, 'add(2, 3)');\nconsole.assert(add(-1, 1) === 0);\n"

TS_FORGED = {  # wrong solutions that must not pass
    "process.exit(0) at load": (TS_BAD + "process.exit(0);\n", TS_TESTS),
    "an uncaughtException listener swallowing": (TS_BAD + "process.on('uncaughtException', () => {});\n", TS_ASYNC),
    "an uncaughtException listener exiting 0": (
        TS_BAD + "process.prependListener('uncaughtException', () => { process.exit(0); });\n",
        TS_ASYNC,
    ),
    "console.assert": (TS_BAD, TS_CONSOLE_ASSERT),
    "console.assert made a no-op": (TS_BAD + "console.assert = () => {};\n", TS_CONSOLE_ASSERT),
    "a failing check in a promise": (TS_BAD, TS_ASYNC),
    "process.exit(0) from a solution function": (
        "export function add(a: number, b: number): number { process.exit(0); }\n",
        TS_TESTS,
    ),
    "wrong, tests that set process.exitCode": (TS_BAD, "if (add(2, 3) !== 5) { process.exitCode = 1; }\n"),
    "node:assert made a no-op": (
        TS_BAD + "require('assert').strictEqual = () => {};\n",
        TS_TESTS,
    ),
    "JSON.stringify faked": (
        TS_BAD + "JSON.stringify = () => 'same';\n",
        "if (JSON.stringify(add(2, 3)) !== JSON.stringify(5)) { throw new Error('add'); }\n",
    ),
    "wrong, an exit listener of the tests sets the status": (
        TS_BAD,
        "let failed = add(2, 3) !== 5;\nprocess.on('exit', () => { if (failed) process.exitCode = 1; });\n",
    ),
}
TS_HONEST = {  # right solutions in idiomatic forms that must pass
    "right": (TS_GOOD, TS_TESTS),
    "right, console.assert": (TS_GOOD, TS_CONSOLE_ASSERT),
    "right, async": (TS_GOOD, TS_ASYNC),
    "right, tests ending in process.exit(0)": (TS_GOOD, TS_TESTS + "process.exit(0);\n"),
    "right, JavaScript style": ("function add(a, b) {\n    return a + b\n}\n", "console.assert(add(2, 3) === 5)\n"),
    "right, a library function Node 20 has": (
        TS_GOOD + "export const dashes = (s: string): string => s.replaceAll(' ', '-');\n",
        "console.assert(dashes('a b c') === 'a-b-c' && [1, 2].at(-1) === 2);\n",
    ),
}
TS_ROWS = TS_FORGED | TS_HONEST
TS_EXPECTED = dict.fromkeys(TS_FORGED, BAD) | dict.fromkeys(TS_HONEST, GOOD)


def test_typescript_forged_passes_fail_and_honest_rows_pass(build):
    need("typescript")
    results = run_rows(build, "typescript", TS_ROWS)
    check(results, TS_EXPECTED)
    assert results["console.assert"].status == "fail" and "2 console.assert check(s) failed" in (
        results["console.assert"].output
    )
    assert results["process.exit(0) at load"].detail == "the solution called process.exit(0) while loading"


TYPE_ERROR = (
    "function add(a: number, b: number): number {\n    const sum: string = a + b;\n    return sum as any;\n}\n"
)


def test_typescript_typecheck_strict_or_report(build):
    need("typescript")
    tests = "console.assert(add(2, 3) === 5);\n"
    rows = {
        "type error, right": (TYPE_ERROR, tests),
        "type error, wrong": (TYPE_ERROR.replace("a + b", "a - b"), tests),
        "syntax error": ("function add(a: number, b: number): number { return a + ; }\n", tests),
    }
    strict = run_rows(build, "typescript", rows, typescript_typecheck="strict")
    assert {name: r.status for name, r in strict.items()} == dict.fromkeys(rows, "compile_error")
    report = run_rows(build, "typescript", rows, typescript_typecheck="report")
    check(report, {"type error, right": "pass", "type error, wrong": "fail", "syntax error": "compile_error"})
    assert "tsc found 1 type error(s), run anyway" in report["type error, right"].output
    assert "TS2322" in report["type error, right"].output


def test_typescript_layout_and_the_option_reaches_the_plan():
    tc = {"node": "/usr/bin/node", "tsc": "/t/bin/tsc"}
    ts = toolchains.Toolchain("typescript", tc, "tsc", [])
    default = ts.plan(TS_GOOD, TS_TESTS, LIMITS)
    assert typescript.COMPILER in default.files and "--noEmitOnError" not in default.compile  # report
    strict = ts.plan(TS_GOOD, TS_TESTS, LIMITS, options={"typescript_typecheck": "strict"})
    assert set(strict.files) == {"main.ts", typescript.RUNNER} and strict.reports
    assert typescript.MARKER in strict.files["main.ts"] and "./solution" not in strict.files["main.ts"]
    assert "--noEmitOnError" in strict.compile and strict.run[-1] == typescript.RUNNER
    report = ts.plan(TS_GOOD, TS_TESTS, LIMITS, options={"typescript_typecheck": "report", "other_knob": 1})
    assert report.files == default.files and report.compile == default.compile
    assert report.digest() != strict.digest()  # a compiled row is compiled again when the mode changes
    with pytest.raises(ValueError, match="typescript_typecheck 'loose'"):
        ts.plan(TS_GOOD, TS_TESTS, LIMITS, options={"typescript_typecheck": "loose"})
    # languages without options get none
    assert toolchains.Toolchain("php", {"php": "php"}, "php", []).plan("", "", LIMITS, options={"x": 1}).reports


def test_the_recipe_option_is_validated_and_passed_by_the_stage():
    assert language_options(BuilderConfig()) == {"typescript_typecheck": "report"}
    assert language_options(BuilderConfig(typescript_typecheck="strict")) == {"typescript_typecheck": "strict"}
    with pytest.raises(ConfigError, match="typescript_typecheck 'lax'"):
        BuilderConfig(typescript_typecheck="lax")

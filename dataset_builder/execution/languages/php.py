"""PHP: solution.php and test.php run by the executor's runner (`runners/php_runner.php`, saved as _oss_runner.php)
with assertions on and a memory_limit below the sandbox's. The runner loads the solution, puts back the assertion
settings it changed, runs the tests with their own `exit`/`die` made the runner's, and reports completion on the
verdict channel."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, mb, runner_source

RUNNER = "_oss_runner.php"

_PHP_REQUIRE = re.compile(
    r"""^\s*(?:require|include)(?:_once)?\s*\(?\s*(?:__DIR__\s*\.\s*)?['"][./]*solution\.php['"]\s*\)?\s*;\s*$""",
    re.MULTILINE,
)


def find() -> dict[str, str] | None:
    php = binaries.which("php")
    return {"php": str(php)} if php else None


def _open(code: str) -> str:
    return code if code.lstrip().startswith("<?php") else f"<?php\n{code}"


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    # the runner loads the solution; a test's own `require 'solution.php'` would declare everything twice
    tests = _open(_PHP_REQUIRE.sub("", tests))
    files = {"solution.php": _open(solution), "test.php": tests, RUNNER: runner_source("php_runner.php")}
    # memory_limit (unlimited in Debian's CLI php.ini) below RLIMIT_DATA, so running out is PHP's clear message
    memory = f"memory_limit={max(16, mb(limits.memory_bytes) * 3 // 4)}M"
    argv = [tc["php"], "-d", "zend.assertions=1", "-d", "assert.exception=1", "-d", memory, RUNNER]
    return Plan(files, None, argv, reports=True)


LANGUAGE = Language(
    name="php",
    command="php",
    install="apt-get install -y php-cli",
    version_label="php",
    find=find,
    version_argv=lambda tc: [tc["php"], "--version"],
    plan=plan,
    patterns=(
        (r"Allowed memory size of \d+ bytes exhausted|Out of memory \(allocated", "memory"),
        (r"PHP Parse error|^Parse error:", "compile_error"),
        (r"Uncaught AssertionError|AssertionError|^\[runner\] a check in test\.php failed", "fail"),
        (r"Fatal error|Uncaught ", "runtime_error"),
    ),
)

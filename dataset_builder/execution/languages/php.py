"""PHP: solution.php and test.php loaded by a runner, with assertions on and a memory_limit below the sandbox's."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, mb

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
    runner = "<?php\nrequire_once __DIR__ . '/solution.php';\nrequire_once __DIR__ . '/test.php';\n"
    # runner.php loads the solution; a test's own `require 'solution.php'` would declare everything twice
    files = {"solution.php": _open(solution), "test.php": _open(_PHP_REQUIRE.sub("", tests)), "runner.php": runner}
    # memory_limit (unlimited in Debian's CLI php.ini) below RLIMIT_DATA, so running out is PHP's clear message
    memory = f"memory_limit={max(16, mb(limits.memory_bytes) * 3 // 4)}M"
    argv = [tc["php"], "-d", "zend.assertions=1", "-d", "assert.exception=1", "-d", memory, "runner.php"]
    return Plan(files, None, argv)


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
        (r"Uncaught AssertionError|AssertionError", "fail"),
        (r"Fatal error|Uncaught ", "runtime_error"),
    ),
)

"""Bash: solution.sh and test.sh, run by the executor's runner (`runners/shell_runner.sh`, saved as _oss_runner.sh):
it sources the solution (unless the tests only run it as a program), undoes what it did to the shell (functions
named like builtins, disabled builtins, aliases, traps, options), sources the tests and reports completion on the
verdict channel. The tests' own `source ./solution.sh` is turned into `true` (the runner already sourced it: twice
would run its top-level code twice); tests that run `bash ./solution.sh ARGS` run it as a program of its own."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, runner_source

RUNNER = "_oss_runner.sh"

# `source ./solution.sh`, `. "$(dirname "$0")/solution.sh"`, `source "${BASH_SOURCE%/*}/solution.sh"`, ...
_SOURCE = re.compile(
    r"""(?<![\w./-])(?:source|\.)[ \t]+(?:"[^\n]*?solution\.sh"|'[^'\n]*?solution\.sh'|[^\s;&|)'"]*solution\.sh)"""
    r"""(?=[\s;&|)]|$)""",
    re.MULTILINE,
)


# `bash ./solution.sh`, `sh solution.sh`, `./solution.sh`, `bash "$(dirname "$0")/solution.sh"`: run as a program
_RUNS = re.compile(r"""\b(?:bash|sh)[ \t]+(?:"[^\n]*?|'[^'\n]*?|[^\s;&|]*?)solution\.sh|(?<![\w./-])\./solution\.sh""")


def find() -> dict[str, str] | None:
    bash = binaries.which("bash")
    return {"bash": str(bash)} if bash else None


def without_source(tests: str) -> str:
    """The tests with each `source`/`.` of solution.sh replaced by `true`."""
    return _SOURCE.sub("true", tests)


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    neutral = without_source(tests)
    files = {"solution.sh": solution, "test.sh": neutral, RUNNER: runner_source("shell_runner.sh")}
    # tests that only run the solution as a program (`bash ./solution.sh ARGS`) do not get it sourced first: its
    # top-level code, run without arguments, would only print a usage message or fail
    program = neutral == tests and _RUNS.search(tests) is not None
    return Plan(files, None, [tc["bash"], RUNNER, "program" if program else "source"], reports=True)


LANGUAGE = Language(
    name="shell",
    command="bash",
    install="apt-get install -y bash",
    version_label="bash",
    find=find,
    version_argv=lambda tc: [tc["bash"], "--version"],
    plan=plan,
    signals_crash=False,  # a shell script only passes or fails
)

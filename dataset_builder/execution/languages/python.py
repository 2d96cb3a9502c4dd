"""Python: solution.py and test_solution.py, run by the executor's runner (`runners/python_runner.py`), which loads
the solution, runs the tests as `__main__`, then their `test_*` functions and `unittest.TestCase` classes, and
reports completion on the verdict channel."""

from __future__ import annotations

from pathlib import Path

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, runner_source

RUNNER = "_oss_runner.py"


def find() -> dict[str, str] | None:
    system = Path("/usr/bin/python3")
    python = system if system.is_file() else binaries.which("python3")
    return {"python": str(python)} if python else None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    files = {"solution.py": solution, "test_solution.py": tests, RUNNER: runner_source("python_runner.py")}
    return Plan(files, None, [tc["python"], "-E", "-s", "-B", RUNNER], reports=True)


LANGUAGE = Language(
    name="python",
    command="python3",
    install="apt-get install -y python3",
    version_label="python",
    find=find,
    version_argv=lambda tc: [tc["python"], "--version"],
    plan=plan,
    patterns=(
        (r"^MemoryError\b", "memory"),
        (r"^(?:SyntaxError|IndentationError|TabError)\b", "compile_error"),
        (r"^AssertionError\b", "fail"),
        (r"^Traceback \(most recent call last\):", "runtime_error"),
    ),
)

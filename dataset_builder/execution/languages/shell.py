"""Bash: solution.sh and test.sh in one folder, run as `bash test.sh`."""

from __future__ import annotations

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan


def find() -> dict[str, str] | None:
    bash = binaries.which("bash")
    return {"bash": str(bash)} if bash else None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    return Plan({"solution.sh": solution, "test.sh": tests}, None, [tc["bash"], "test.sh"])


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

"""Swift: the tests appended to the solution in main.swift, compiled with swiftc (no Debian 12 package)."""

from __future__ import annotations

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan


def find() -> dict[str, str] | None:
    swiftc = binaries.which("swiftc")
    return {"swiftc": str(swiftc)} if swiftc else None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    return Plan({"main.swift": f"{solution}\n\n{tests}\n"}, [tc["swiftc"], "-o", "main", "main.swift"], ["./main"])


LANGUAGE = Language(
    name="swift",
    command="swiftc",
    install="no Debian 12 package: install a Swift toolchain from swift.org and put swiftc on PATH",
    version_label="swiftc",
    find=find,
    version_argv=lambda tc: [tc["swiftc"], "--version"],
    plan=plan,
    patterns=(
        (r"Fatal error: Assertion failed|Assertion failed|Precondition failed", "fail"),
        (r"Fatal error", "runtime_error"),
    ),
)

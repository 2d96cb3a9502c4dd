"""Rust: the tests appended to the solution in main.rs (the solution's `fn main` renamed), compiled with rustc."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, drop_repeated

_RUST_MAIN = re.compile(r"^(\s*)(?:pub\s+)?fn\s+main\s*\(", re.MULTILINE)


def find() -> dict[str, str] | None:
    """The real rustc: rustup's `rustc` is a proxy that needs HOME/RUSTUP_HOME, so ask it for its sysroot."""
    for path in binaries.candidates("rustc"):
        probe = subprocess.run([str(path), "--print", "sysroot"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            continue
        real = Path(probe.stdout.strip()) / "bin" / "rustc"
        if real.is_file() and binaries.reachable(real):
            return {"rustc": str(real)}
    return None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    solution = _RUST_MAIN.sub(r"\1#[allow(dead_code)] fn oss_solution_main(", solution)
    tests = drop_repeated(tests, solution, "use ")
    argv = [tc["rustc"], "--edition", "2021", "-o", "main", "main.rs"]
    if "#[test]" in tests and not _RUST_MAIN.search(tests):
        argv.append("--test")
    # the test harness runs tests on threads; one keeps RLIMIT_NPROC and the output order predictable
    return Plan({"main.rs": f"{solution}\n\n{tests}\n"}, argv, ["./main"], {"RUST_TEST_THREADS": "1"})


LANGUAGE = Language(
    name="rust",
    command="rustc",
    install="apt-get install -y rustc",
    version_label="rustc",
    find=find,
    version_argv=lambda tc: [tc["rustc"], "--version"],
    plan=plan,
    patterns=(
        (r"memory allocation of \d+ bytes failed", "memory"),
        (r"assertion failed|assertion `left [=!]= right` failed", "fail"),
        (r"panicked at", "runtime_error"),
    ),
)

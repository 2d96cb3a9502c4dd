"""TypeScript: the tests appended to the solution in main.ts, compiled with tsc, run with node."""

from __future__ import annotations

import re
from pathlib import Path

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, drop_repeated, mb

_TS_SOLUTION_IMPORT = re.compile(r"""^\s*import\b.*\bfrom\s+['"]\./solution(?:\.ts)?['"];?\s*$""", re.MULTILINE)


def npm_hint() -> str:
    return f'npm install --prefix "{binaries.tools_dir() / "typescript"}" typescript@5 @types/node@20'


def _tsc() -> tuple[Path, Path | None] | None:
    """(tsc's JavaScript entry point, the @types folder holding `node` or None)."""
    local = binaries.tools_dir() / "typescript" / "node_modules" / "typescript" / "bin" / "tsc"
    on_path = binaries.which("tsc")
    for script in (local, on_path):
        if script is not None and script.is_file() and binaries.reachable(script):
            script = script.resolve()
            types = script.parents[2] / "@types"
            return script, types if (types / "node").is_dir() else None
    return None


def find() -> dict[str, str] | None:
    node, tsc = binaries.which("node"), _tsc()
    if node is None or tsc is None:
        return None
    found = {"tsc": str(tsc[0]), "node": str(node)}
    if tsc[1] is not None:
        found["types"] = str(tsc[1])
    return found


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    # the tests share the solution's file, so an import of "./solution" would name a file that does not exist
    tests = _TS_SOLUTION_IMPORT.sub("", drop_repeated(tests, solution, "import "))
    node = tc["node"]
    tsc = [node, f"--max-old-space-size={max(64, mb(compile_limits.memory_bytes) // 2)}", tc["tsc"]]
    tsc += ["--noEmitOnError", "--module", "commonjs", "--target", "es2020", "--esModuleInterop", "--skipLibCheck"]
    if "types" in tc:
        tsc += ["--typeRoots", tc["types"], "--types", "node"]
    run = [node, f"--max-old-space-size={max(16, mb(limits.memory_bytes) // 2)}", "main.js"]
    return Plan({"main.ts": f"{solution}\n\n{tests}\n"}, [*tsc, "main.ts"], run)


LANGUAGE = Language(
    name="typescript",
    command="tsc",
    install="",  # npm_hint(): the tools folder may change after import (OSS_INSTRUCT_TOOLS)
    version_label="tsc",
    find=find,
    version_argv=lambda tc: [tc["node"], tc["tsc"], "--version"],
    plan=plan,
    patterns=(
        (
            r"heap out of memory|Allocation failed - JavaScript heap|RangeError: Array buffer allocation failed",
            "memory",
        ),
        (r"AssertionError|ERR_ASSERTION", "fail"),
        (r"^\w*Error\b|^Uncaught ", "runtime_error"),
    ),
)

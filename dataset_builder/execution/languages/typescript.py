"""TypeScript: the solution, a marker line and the tests in one file, main.ts, compiled with tsc, run by the
executor's runner (`runners/typescript_runner.js`, saved as _oss_runner.js), which loads main.js and reports
completion on the verdict channel. The marker line (`__ossTestsStart()`) tells the runner where the solution's
top-level code ends and the tests begin.

`typescript_typecheck` (a recipe option): `strict` makes a type error a `compile_error` (tsc --noEmitOnError);
`report` compiles with `runners/typescript_compile.js`, which keeps tsc's type errors for the runner to print and runs
the emitted JavaScript (as MBXP's and HumanEval-X's harnesses do), so only a syntax error stops the row."""

from __future__ import annotations

import re
from pathlib import Path

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, drop_repeated, mb, runner_source

RUNNER, COMPILER = "_oss_runner.js", "_oss_tsc.js"
MARKER = ";(globalThis as any).__ossTestsStart();"
TYPECHECK = ("report", "strict")  # typescript_typecheck: the first is the default

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


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits, options=None) -> Plan:
    typecheck = (options or {}).get("typescript_typecheck") or TYPECHECK[0]
    if typecheck not in TYPECHECK:
        raise ValueError(f"typescript_typecheck {typecheck!r}: use one of {', '.join(TYPECHECK)}")
    # the tests share the solution's file, so an import of "./solution" would name a file that does not exist
    tests = _TS_SOLUTION_IMPORT.sub("", drop_repeated(tests, solution, "import "))
    node = tc["node"]
    files = {"main.ts": f"{solution}\n\n{MARKER}\n\n{tests}\n", RUNNER: runner_source("typescript_runner.js")}
    tsc = [node, f"--max-old-space-size={max(64, mb(compile_limits.memory_bytes) // 2)}"]
    if typecheck == "strict":
        tsc += [tc["tsc"], "--noEmitOnError"]
    else:
        tsc += [COMPILER, tc["tsc"]]
        files[COMPILER] = runner_source("typescript_compile.js")
    # the library of what Node 20 runs (es2022: String.replaceAll, Array.at, Object.hasOwn), DOM's as tsc's default
    tsc += ["--module", "commonjs", "--target", "es2020", "--lib", "es2022,dom", "--esModuleInterop", "--skipLibCheck"]
    if "types" in tc:
        tsc += ["--typeRoots", tc["types"], "--types", "node"]
    run = [node, f"--max-old-space-size={max(16, mb(limits.memory_bytes) // 2)}", RUNNER]
    return Plan(files, [*tsc, "main.ts"], run, reports=True)


LANGUAGE = Language(
    name="typescript",
    command="tsc",
    install="",  # npm_hint(): the tools folder may change after import (OSS_INSTRUCT_TOOLS)
    version_label="tsc",
    find=find,
    version_argv=lambda tc: [tc["node"], tc["tsc"], "--version"],
    plan=plan,
    options=("typescript_typecheck",),
    patterns=(
        (
            r"heap out of memory|Allocation failed - JavaScript heap|RangeError: Array buffer allocation failed",
            "memory",
        ),
        (
            (
                r"AssertionError|ERR_ASSERTION|^\[runner\] (?:a check in the tests failed|\d+ console\.assert check"
                r"|the tests (?:exited|ended|set exit status))"
            ),
            "fail",
        ),
        (r"^\w*Error\b|^Uncaught ", "runtime_error"),
    ),
)

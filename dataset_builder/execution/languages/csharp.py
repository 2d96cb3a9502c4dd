"""C#: Solution.cs and SolutionTests.cs compiled into one program with Mono's mcs, run with mono."""

from __future__ import annotations

import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, main_class, mb

_CS_MAIN = r"static\s+(?:async\s+)?(?:void|int|Task(?:<int>)?)\s+Main\s*\("
_CS_NAMESPACE = re.compile(r"^\s*namespace\s+([\w.]+)", re.MULTILINE)


def find() -> dict[str, str] | None:
    mcs, mono = binaries.which("mcs"), binaries.which("mono")
    return {"mcs": str(mcs), "mono": str(mono)} if mcs and mono else None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    argv = [tc["mcs"], "-out:test.exe"]
    main = main_class(tests, _CS_MAIN)
    if main is not None:
        at = re.search(_CS_MAIN, tests).start()
        spaces = [m.group(1) for m in _CS_NAMESPACE.finditer(tests, 0, at)]
        argv.append(f"-main:{spaces[-1] + '.' if spaces else ''}{main}")
    # Mono's GC otherwise grows until RLIMIT_DATA makes it abort without a managed OutOfMemoryException
    env = {"MONO_GC_PARAMS": f"max-heap-size={max(16, mb(limits.memory_bytes) // 2)}m"}
    files = {"Solution.cs": solution, "SolutionTests.cs": tests}
    return Plan(files, [*argv, "Solution.cs", "SolutionTests.cs"], [tc["mono"], "test.exe"], env)


LANGUAGE = Language(
    name="csharp",
    command="mcs",
    install="apt-get install -y mono-mcs mono-runtime",
    version_label="mcs",
    find=find,
    version_argv=lambda tc: [tc["mcs"], "--version"],
    plan=plan,
    patterns=(
        (r"System\.OutOfMemoryException", "memory"),
        (r"AssertFailedException|AssertionException|Assert\.Fail|DEBUG ASSERTION FAILED|Assertion failed", "fail"),
        # the harness's `throw new Exception(...)` in the tests' class (Mono inlines frames: only the base type counts)
        (r"^System\.Exception: .*\n\s+at SolutionTests\.", "fail"),
        (r"Unhandled Exception|\bSystem\.\w*Exception\b", "runtime_error"),
    ),
)

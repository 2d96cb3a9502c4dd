"""C++: solution.cpp and test.cpp compiled as one program, main.cpp, with the solution's `main` renamed."""

from __future__ import annotations

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan


def find() -> dict[str, str] | None:
    gxx = binaries.which("g++")
    return {"g++": str(gxx)} if gxx else None


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    main = '#define main oss_solution_main\n#include "solution.cpp"\n#undef main\n#include "test.cpp"\n'
    files = {"solution.cpp": solution, "test.cpp": tests, "main.cpp": main}
    return Plan(files, [tc["g++"], "-std=c++17", "-O0", "-o", "main", "main.cpp"], ["./main"])


LANGUAGE = Language(
    name="cpp",
    command="g++",
    install="apt-get install -y g++",
    version_label="g++",
    find=find,
    version_argv=lambda tc: [tc["g++"], "-dumpfullversion"],
    plan=plan,
    patterns=(
        (r"std::bad_alloc", "memory"),
        (r"Assertion [`'].*' failed", "fail"),
    ),
)

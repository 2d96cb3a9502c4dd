"""C++: solution.cpp and test.cpp compiled as one translation unit, main.cpp (the solution's `main` renamed), linked
after the executor's runner (`runners/cpp_runner.cpp`), which starts the program, calls the tests' `main` and
reports on the verdict channel.

Between the solution and the tests main.cpp takes back what the solution's macros could do to the tests' checks:
`NDEBUG` and `assert` are undefined and <assert.h> is included again (it is made to be), and every macro the
solution defines whose name is a keyword, a reserved identifier (`__x`, `_X`: what <assert.h>'s expansion uses) or
a name a check leans on (`exit`, `abort`, `EXIT_FAILURE`, ...) is undefined (`EXIT_SUCCESS`/`EXIT_FAILURE` then get
their standard values again): `#define int long long` still applies to the solution's code, not to the tests'.
The tests' `exit(N)` calls go to the runner, with a number of the row's that the solution cannot name
(`runners/cpp_runner.cpp` says how).
"""

from __future__ import annotations

import hashlib
import re

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, runner_source

RUNNER = "_oss_runner.cpp"

KEYWORDS = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class
    compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield decltype
    default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline int
    long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register
    reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template
    this thread_local throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t
    while xor xor_eq""".split()
)
CHECK_NAMES = frozenset(
    "assert NDEBUG main exit abort quick_exit _Exit std EXIT_SUCCESS EXIT_FAILURE signal raise".split()
)
RESTORED = {"EXIT_SUCCESS": "0", "EXIT_FAILURE": "1"}  # <cstdlib>'s values, defined again once undefined
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_DEFINE = re.compile(r"^[ \t]*(?:#|%:)[ \t]*define[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


# the runner flushes the C++ streams through this, and so includes no <iostream> itself
FLUSH = (
    '\nextern "C" void oss_flush_streams() {\n#ifdef _GLIBCXX_IOSTREAM\n'
    "    std::cout.flush();\n    std::cerr.flush();\n    std::clog.flush();\n#endif\n}\n"
)


# the tests' exit calls go to the runner's oss_tests_exit, `std::exit` too
TESTS_EXIT = (
    'extern "C" [[noreturn]] void oss_tests_exit(unsigned long long, int);\n'
    "namespace std {\nusing ::oss_tests_exit;\n}\n"
)


def find() -> dict[str, str] | None:
    gxx = binaries.which("g++")
    return {"g++": str(gxx)} if gxx else None


def taken_back(solution: str) -> list[str]:
    """The macros the solution defines that main.cpp undefines before the tests, in the order first defined."""
    text = _COMMENT.sub(" ", solution.replace("\\\n", ""))
    names = dict.fromkeys(m.group(1) for m in _DEFINE.finditer(text))
    return [n for n in names if n in KEYWORDS or n in CHECK_NAMES or n.startswith("__") or re.match(r"_[A-Z]", n)]


def secret(solution: str, tests: str) -> int:
    """The number the tests' exit calls carry (the same for the same row, so the compile marker holds)."""
    return int(hashlib.sha256(f"{solution}\0{tests}".encode()).hexdigest()[:15], 16)


def main_source(solution: str, tests: str = "") -> str:
    undefs = "".join(
        f"#undef {name}\n" + (f"#define {name} {RESTORED[name]}\n" if name in RESTORED else "")
        for name in taken_back(solution)
        if name not in ("main", "NDEBUG", "assert")
    )
    return (
        '#define main oss_solution_main\n#include "solution.cpp"\n#undef main\n'
        f"{undefs}#undef NDEBUG\n#undef assert\n#include <assert.h>\n"
        f"#include <stdlib.h>\n#include <cstdlib>\n{TESTS_EXIT}"
        f"#define exit(status) oss_tests_exit({secret(solution, tests)}ULL, status)\n"
        '#include "test.cpp"\n#undef exit\n'
        f"{FLUSH}"
    )


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    files = {
        "solution.cpp": solution,
        "test.cpp": tests,
        "main.cpp": main_source(solution, tests),
        RUNNER: f"#define OSS_TESTS_SECRET {secret(solution, tests)}ULL\n{runner_source('cpp_runner.cpp')}",
    }
    # the runner first: its `.preinit_array` entry (which takes the token) then runs before the row's
    argv = [tc["g++"], "-std=c++17", "-O0", "-o", "main", RUNNER, "main.cpp", "-Wl,--wrap=main"]
    return Plan(files, argv, ["./main"], reports=True)


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

"""C++ and Rust through the real executor and bubblewrap: a run passes only when the runner saw the tests complete.

Each forged or false pass users found is a row with a wrong solution that must not pass (and, where the pattern is
an honest one, the same row with a right solution that must); each idiomatic form of correct tests is a row that
must pass. All rows are compiled and run once, together, two at a time."""

from __future__ import annotations

import shutil
import time

import pytest

from dataset_builder.execution import toolchains
from dataset_builder.execution.executor import Executor, Job
from dataset_builder.execution.languages import cpp, rust
from dataset_builder.execution.sandbox import Bwrap, Limits

LIMITS = Limits(wall_seconds=30, cpu_seconds=30)

# ------------------------------------------------------------------------------------------------------------ C++
RIGHT = "int add(int a, int b) { return a + b; }\n"
WRONG = "int add(int a, int b) { return a - b; }\n"
ASSERTS = "#include <cassert>\nint main() {\n    assert(add(2, 3) == 5);\n    assert(add(-1, 1) == 0);\n}\n"
RETURNS_1 = (
    "#include <cstdio>\nint main() {\n"
    '    if (add(2, 3) != 5) {\n        std::printf("add(2, 3) is wrong\\n");\n        return 1;\n    }\n'
    "    return 0;\n}\n"
)
EXITS_1 = RETURNS_1.replace("#include <cstdio>\n", "#include <cstdio>\n#include <cstdlib>\n").replace(
    "return 1;", "std::exit(1);"
)
EXITS_0 = "#include <cassert>\n#include <cstdlib>\nint main() {\n    assert(add(2, 3) == 5);\n    std::exit(0);\n}\n"
THROWS = (
    "#include <stdexcept>\nint main() {\n"
    '    if (add(2, 3) != 5) throw std::runtime_error("add(2, 3) is wrong");\n    return 0;\n}\n'
)
HUMANEVAL_X = "#undef NDEBUG\n#include<assert.h>\nint main(){\n    assert (add(2, 3) == 5);\n    \n}\n"
UNSYNCED = (
    "#include <iostream>\nint main() {\n    std::ios::sync_with_stdio(false);\n"
    '    if (add(2, 3) != 5) {\n        std::cout << "add(2, 3) is wrong\\n";\n        return 1;\n    }\n}\n'
)
EXIT_AT_LOAD = "#include <cstdlib>\nstruct Leave { Leave() { std::exit(0); } } leave;\n"
ATEXIT_0 = "#include <cstdlib>\n#include <unistd.h>\nstruct Hook { Hook() { std::atexit([] { _exit(0); }); } } hook;\n"
SIGABRT_0 = (
    "#include <csignal>\n#include <unistd.h>\n"
    "struct Hush { Hush() { std::signal(SIGABRT, [](int) { _exit(0); }); } } hush;\n"
)
TERMINATE_0 = (
    "#include <exception>\n#include <unistd.h>\n"
    "struct Quiet { Quiet() { std::set_terminate([] { _exit(0); }); } } quiet;\n"
)

# a solution that reads the token in its own `.preinit_array` entry and writes `done` itself: the runner's entry
# runs first and has emptied the pipe
CPP_STEALS = r"""#include <cstring>
#include <unistd.h>
static char stolen[80];
static int stolen_length, out = -1;
static int env_fd(char **envp, const char *name) {
    for (; *envp; ++envp)
        if (!std::strncmp(*envp, name, std::strlen(name)) && (*envp)[std::strlen(name)] == '=')
            return atoi(*envp + std::strlen(name) + 1);
    return -1;
}
static void steal(int, char **, char **envp) {
    int fd = env_fd(envp, "OSS_VERDICT_IN");
    out = env_fd(envp, "OSS_VERDICT_OUT");
    if (fd >= 0 && (stolen_length = read(fd, stolen, 79)) > 0) stolen[--stolen_length] = 0;
}
__attribute__((section(".preinit_array"), used)) static void (*steal_first)(int, char **, char **) = steal;
int add(int a, int b) {
    char line[128] = "done ";
    std::strcat(std::strcat(line, stolen), " 1\n");
    ssize_t n = write(out, line, std::strlen(line));
    _exit(n < 0);
}
"""

CPP = {
    # forged or false passes: a wrong solution
    "cpp-static-initializer-exit": (EXIT_AT_LOAD + WRONG, ASSERTS, "tests_incomplete"),
    "cpp-exit-0-in-the-solution": ("#include <cstdlib>\nint add(int a, int b) { std::exit(0); }\n", ASSERTS,
                                   "tests_incomplete"),
    "cpp-atexit-and-tests-return-1": (ATEXIT_0 + WRONG, RETURNS_1, "fail"),
    "cpp-atexit-and-tests-exit-1": (ATEXIT_0 + WRONG, EXITS_1, "fail"),
    "cpp-calls-the-tests-exit": (
        ('extern "C" [[noreturn]] void oss_tests_exit(unsigned long long, int);\n'
         "int add(int a, int b) { oss_tests_exit(1, 0); }\n"),
        ASSERTS, "tests_incomplete",
    ),
    "cpp-at-quick-exit": (
        ("#include <cstdlib>\n#include <unistd.h>\n"
         "int add(int a, int b) { std::at_quick_exit([] { _exit(0); }); std::quick_exit(3); }\n"),
        ASSERTS, "tests_incomplete",
    ),
    "cpp-sigabrt-handler-at-load": (SIGABRT_0 + WRONG, ASSERTS, "fail"),
    "cpp-sigabrt-handler-in-the-call": (
        ("#include <csignal>\n#include <unistd.h>\n"
         "int add(int a, int b) { std::signal(SIGABRT, [](int) { _exit(0); }); return a - b; }\n"),
        ASSERTS, "fail",
    ),
    "cpp-terminate-handler-at-load": (TERMINATE_0 + WRONG, THROWS, "runtime_error"),
    "cpp-terminate-handler-in-the-call": (
        ("#include <exception>\n#include <unistd.h>\n"
         "int add(int a, int b) { std::set_terminate([] { _exit(0); }); return a - b; }\n"),
        THROWS, "tests_incomplete",
    ),
    "cpp-preinit-steals-the-token": ("#include <cstdlib>\n" + CPP_STEALS, ASSERTS, "tests_incomplete"),
    "cpp-define-ndebug": ("#define NDEBUG\n" + WRONG, ASSERTS, "fail"),
    "cpp-define-assert": ("#define assert(x) ((void)0)\n" + WRONG, ASSERTS, "fail"),
    "cpp-define-assert-fail": ("#define __assert_fail(...) ((void)0)\n" + WRONG, ASSERTS, "fail"),
    "cpp-own-assert-fail": (
        'extern "C" void __assert_fail(const char *, const char *, unsigned, const char *) {}\n' + WRONG,
        ASSERTS, "compile_error",
    ),
    # honest tests and solutions: a right solution passes (a wrong one fails)
    "cpp-asserts-main-without-return": (RIGHT, ASSERTS, "pass"),
    "cpp-return-1-right": (RIGHT, RETURNS_1, "pass"),
    "cpp-return-1-wrong": (WRONG, RETURNS_1, "fail"),
    "cpp-exit-1-right": (RIGHT, EXITS_1, "pass"),
    "cpp-exit-0-at-the-end": (RIGHT, EXITS_0, "pass"),
    "cpp-throws-right": (RIGHT, THROWS, "pass"),
    "cpp-humaneval-x-layout": (RIGHT, HUMANEVAL_X, "pass"),
    "cpp-atexit-right": (ATEXIT_0 + RIGHT, RETURNS_1, "pass"),
    "cpp-ndebug-right": ("#define NDEBUG\n" + RIGHT, ASSERTS, "pass"),
    "cpp-define-int-long-long": (
        "#define int long long\nint add(int a, int b) { return a + b; }\nsigned main() { return 0; }\n",
        ASSERTS, "pass",
    ),
    "cpp-unsynchronised-cout-on-failure": (WRONG, UNSYNCED, "fail"),
    "cpp-macro-constant-for-the-tests": ("#define EXPECTED 5\n" + RIGHT,
                                         "#include <cassert>\nint main() { assert(add(2, 3) == EXPECTED); }\n",
                                         "pass"),
}  # fmt: skip

# ----------------------------------------------------------------------------------------------------------- Rust
RS_RIGHT = "pub fn add(a: i32, b: i32) -> i32 { a + b }\n"
RS_WRONG = "pub fn add(a: i32, b: i32) -> i32 { a - b }\n"
RS_MAIN = "fn main() {\n    assert_eq!(add(2, 3), 5);\n    assert!(add(-1, 1) == 0);\n}\n"
RS_MODULE = (
    "#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn adds() {\n"
    "        assert_eq!(add(2, 3), 5);\n    }\n}\n"
)
INIT_ARRAY_EXIT = (
    '#[used]\n#[link_section = ".init_array"]\nstatic LEAVE: extern "C" fn() = leave;\n'
    'extern "C" fn leave() { std::process::exit(0); }\n'
)
HOOK_EXIT = "pub fn add(a: i32, b: i32) -> i32 {\n    std::panic::set_hook(Box::new(|_| std::process::exit(0)));\n"
SHADOWS = (
    "macro_rules! assert_eq { ($a:expr, $b:expr) => { let _ = (&$a, &$b); }; }\n"
    "macro_rules! assert { ($a:expr) => { let _ = &$a; }; }\n"
)
EXPORTED = "#[macro_export]\n" + SHADOWS.replace("\nmacro_rules!", "\n#[macro_export]\nmacro_rules!")
RS_RESULT = (
    '#[test]\nfn adds() -> Result<(), String> {\n    if add(2, 3) == 5 { Ok(()) } else { Err("add".into()) }\n}\n'
)
HOOK_PRINTS = 'pub fn add(a: i32, b: i32) -> i32 {\n    std::panic::set_hook(Box::new(|_| eprintln!("quiet")));\n'
HOOK_PRINTS += "    a - b\n}\n"
CHECKED = 'pub fn bump(a: i32) -> i32 { a.checked_add(1).expect("overflow") }\n'
SHOULD_PANIC = (
    'mod tests {\n    use super::*;\n    #[test]\n    #[should_panic(expected = "overflow")]\n'
    "    fn overflows() {\n        bump(i32::MAX);\n    }\n}\n"
)

RS_STEALS = r"""extern "C" {
    fn read(fd: i32, buffer: *mut u8, size: usize) -> isize;
    fn write(fd: i32, buffer: *const u8, size: usize) -> isize;
    fn _exit(status: i32) -> !;
}
static mut STOLEN: [u8; 64] = [0; 64];
static mut STOLEN_LENGTH: usize = 0;
static mut OUT: i32 = -1;
unsafe fn env_fd(mut envp: *const *const u8, name: &[u8]) -> i32 {
    while !(*envp).is_null() {
        let entry = std::ffi::CStr::from_ptr(*envp as *const std::os::raw::c_char).to_bytes();
        if entry.starts_with(name) && entry.get(name.len()) == Some(&b'=') {
            return std::str::from_utf8(&entry[name.len() + 1..]).unwrap().parse().unwrap();
        }
        envp = envp.add(1);
    }
    -1
}
extern "C" fn steal(_argc: i32, _argv: *const *const u8, envp: *const *const u8) {
    unsafe {
        let fd = env_fd(envp, b"OSS_VERDICT_IN");
        OUT = env_fd(envp, b"OSS_VERDICT_OUT");
        let got = if fd >= 0 { read(fd, STOLEN.as_mut_ptr(), 64) } else { 0 };
        STOLEN_LENGTH = if got > 0 { got as usize - 1 } else { 0 };
    }
}
#[used]
#[link_section = ".preinit_array"]
static STEAL_FIRST: extern "C" fn(i32, *const *const u8, *const *const u8) = steal;
pub fn add(_a: i32, _b: i32) -> i32 {
    unsafe {
        let mut line = b"done ".to_vec();
        line.extend_from_slice(&STOLEN[..STOLEN_LENGTH]);
        line.extend_from_slice(b" 1\n");
        write(OUT, line.as_ptr(), line.len());
        _exit(0)
    }
}
"""

RUST = {
    # forged or false passes: a wrong solution
    "rust-init-array-exit": (INIT_ARRAY_EXIT + RS_WRONG, RS_MAIN, "tests_incomplete"),
    "rust-panic-hook-exit-main": (HOOK_EXIT + "    a - b\n}\n", RS_MAIN, "tests_incomplete"),
    "rust-panic-hook-exit-module": (HOOK_EXIT + "    a - b\n}\n", RS_MODULE, "tests_incomplete"),
    "rust-exit-0-in-the-solution": ("pub fn add(a: i32, b: i32) -> i32 { std::process::exit(0) }\n", RS_MODULE,
                                    "tests_incomplete"),
    "rust-preinit-steals-the-token": (RS_STEALS, RS_MAIN, "tests_incomplete"),
    "rust-calls-the-runner": (
        "pub fn add(a: i32, b: i32) -> i32 {\n    crate::oss_runner::run(None, Vec::new());\n}\n", RS_MAIN,
        "compile_error",
    ),
    "rust-calls-the-tests-exit": (
        "pub fn add(a: i32, b: i32) -> i32 {\n    crate::oss_runner::tests_exit(0);\n}\n", RS_MODULE,
        "compile_error",
    ),
    "rust-calls-the-tests-exit-with-a-guess": (
        "pub fn add(a: i32, b: i32) -> i32 {\n    crate::oss_runner::tests_exit(1, 0);\n}\n", RS_MODULE,
        "tests_incomplete",
    ),
    "rust-macro-rules-shadow-std": (SHADOWS + RS_WRONG, RS_MAIN, "fail"),
    "rust-macro-export-shadow-std": (EXPORTED + RS_WRONG, RS_MODULE, "fail"),
    "rust-solution-main-exits": (
        RS_WRONG + 'fn main() {\n    println!("{}", add(1, 2));\n    std::process::exit(0);\n}\n', RS_MAIN, "fail"
    ),
    "rust-tests-commented-out": (
        RS_RIGHT, "\n".join("// " + line if line.startswith("    ") else line for line in RS_MODULE.splitlines()),
        "tests_incomplete",
    ),
    "rust-all-tests-ignored": (RS_RIGHT, RS_MODULE.replace("#[test]", "#[test]\n    #[ignore]"), "tests_incomplete"),
    "rust-module-wrong": (RS_WRONG, RS_MODULE, "fail"),
    "rust-should-panic-but-does-not": ("pub fn bump(a: i32) -> i32 { a.wrapping_add(1) }\n", SHOULD_PANIC, "fail"),
    "rust-result-test-wrong": (
        RS_WRONG, RS_RESULT,
        "fail",
    ),
    "rust-solution-hook-prints": (
        HOOK_PRINTS,
        RS_MODULE, "fail",
    ),
    # honest tests and solutions that must pass
    "rust-main": (RS_RIGHT, RS_MAIN, "pass"),
    "rust-humaneval-x-module": (RS_RIGHT, RS_MODULE, "pass"),
    "rust-test-fn-main-in-module": (
        RS_RIGHT, RS_MODULE.replace("#[cfg(test)]\n", "").replace("fn adds", "fn main"),
        "pass",
    ),
    "rust-solution-main-exits-right": (
        RS_RIGHT + 'fn main() {\n    println!("{}", add(1, 2));\n    std::process::exit(0);\n}\n', RS_MAIN, "pass"
    ),
    "rust-should-panic": (CHECKED, SHOULD_PANIC, "pass"),
    "rust-result-test": (
        RS_RIGHT, RS_RESULT,
        "pass",
    ),
    "rust-inner-attribute": ("#![allow(dead_code)]\n" + RS_RIGHT, RS_MAIN, "pass"),
    "rust-forbid-unsafe-code": ("#![forbid(unsafe_code)]\n" + RS_RIGHT, RS_MAIN, "pass"),
    "rust-module-inner-attribute": (
        RS_RIGHT, RS_MODULE.replace("use super::*;", "#![allow(unused)]\n    use super::*;"), "pass"
    ),
    "rust-tests-exit-0-at-the-end": (RS_RIGHT, RS_MAIN.replace("}\n", "    std::process::exit(0);\n}\n"), "pass"),
    "rust-tests-exit-1-on-failure": (
        RS_WRONG, ("use std::process;\nfn main() {\n    if add(2, 3) != 5 {\n        eprintln!(\"wrong\");\n"
                   "        process::exit(1);\n    }\n}\n"),
        "fail",
    ),
    "rust-main-and-tests": (RS_RIGHT, RS_MAIN + RS_MODULE.replace("#[cfg(test)]\n", ""), "pass"),
}  # fmt: skip

ROWS = {**{k: ("cpp", *v) for k, v in CPP.items()}, **{k: ("rust", *v) for k, v in RUST.items()}}


@pytest.fixture(scope="module")
def results():
    """Every row's result, run once: {name: Result} (rows of a language without its toolchain are left out)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    have = {language for language in ("cpp", "rust") if toolchains.find(language) is not None}
    executor = Executor(Bwrap(), LIMITS, workers=2)
    base = int(time.monotonic_ns() % 10**9) * 100
    names = [name for name, row in ROWS.items() if row[0] in have]
    jobs = {base + i: Job(base + i, ROWS[name][0], ROWS[name][1], ROWS[name][2]) for i, name in enumerate(names)}
    try:
        done = {job.key: result for job, result in executor.run(jobs.values())}
    finally:
        executor.close()
    return {name: done[base + i] for i, name in enumerate(names)}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_row(results, name):
    language, _, _, expected = ROWS[name]
    if name not in results:
        pytest.skip(f"{language} toolchain missing: {toolchains.install_hint(language)}")
    result = results[name]
    assert result.status == expected, (result.detail, result.output)
    if expected == "tests_incomplete":
        assert result.detail


def test_what_the_tests_print_is_kept(results):
    """The runner leaves with _exit: it flushes the C++ streams first, synchronised with stdio or not."""
    if "cpp-unsynchronised-cout-on-failure" not in results:
        pytest.skip("g++ missing")
    assert "add(2, 3) is wrong" in results["cpp-unsynchronised-cout-on-failure"].output
    assert "the tests' main returned 1" in results["cpp-return-1-wrong"].output
    assert "add(2, 3) is wrong" in results["cpp-return-1-wrong"].output


def test_no_check_ran_is_said(results):
    if "rust-tests-commented-out" not in results:
        pytest.skip("rust toolchain missing")
    assert "no check ran" in results["rust-tests-commented-out"].detail
    assert "no check ran" in results["rust-all-tests-ignored"].detail


# ---------------------------------------------------------------------------------------------- layouts, no run
def test_cpp_takes_back_the_solutions_macros_that_touch_checks():
    solution = (
        "#define int long long\n#  define __assert_fail(...) 0\n#/**/define exit(x)\n#define MOD 7\n#define NDEBUG"
    )
    assert cpp.taken_back(solution) == ["int", "__assert_fail", "exit", "NDEBUG"]
    main = cpp.main_source(solution)
    assert main.index("#undef int") < main.index("#undef NDEBUG") < main.index("#include <assert.h>")
    assert main.index("#include <assert.h>") < main.index('#include "test.cpp"') and "#undef MOD" not in main
    assert "#undef EXIT_FAILURE\n#define EXIT_FAILURE 1\n" in cpp.main_source("#define EXIT_FAILURE 0\n")


def test_rust_rewrite_finds_tests_and_keeps_strings_and_comments():
    tests = (
        "use std::process;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    mod inner {\n"
        '        #[test]\n        #[should_panic(expected = "boom")]\n        fn a() { panic!("boom"); }\n    }\n'
        '    #[test] #[ignore] pub fn b() { let s = "assert_eq!(1, 2)"; /* vec![] */ assert_eq!(s.len(), 16); }\n'
        "    fn helper() -> Vec<i32> { vec![1] }\n}\n"
        "fn main() { let c = '}'; let l: &'static str = \"{\"; process::exit(0); }\n"
    )
    out = rust.rewrite_tests(tests)
    assert [(t.path, t.should_panic, t.expected, t.ignore) for t in out.tests] == [
        ("tests::inner::a", True, '"boom"', False),
        ("tests::b", False, '""', True),
    ]
    assert out.has_main and "fn oss_tests_main()" in out.source and "#[cfg(test)]" not in out.source
    assert "pub(crate) mod tests" in out.source and "pub(crate) mod inner" in out.source
    assert "pub(crate) fn a()" in out.source and "pub pub" not in out.source and "#[test]" not in out.source
    assert '"assert_eq!(1, 2)"' in out.source and "/* vec![] */" in out.source
    assert "::std::assert_eq!(s.len(), 16)" in out.source and "::std::vec![1]" in out.source
    assert '::std::panic!("boom")' in out.source and "crate::oss_runner::tests_exit(0, 0)" in out.source
    assert "fn helper()" in out.source and "pub(crate) fn helper" not in out.source

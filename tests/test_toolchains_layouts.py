"""The toolchains' lookup (missing, unknown and unreachable binaries), each language's file layout, how output maps
to a status, and the compile marker."""

from __future__ import annotations

import json
import shutil

import pytest

from dataset_builder.execution import binaries, toolchains
from dataset_builder.execution.executor import STATUSES, Executor, Job, Result
from dataset_builder.execution.sandbox import Bwrap
from tests.helpers.execution import LIMITS, need, needs_bwrap, run_all
from tests.test_toolchains import CASES


# --------------------------------------------------------------------------------- missing and unknown languages
def test_swift_without_swiftc_is_no_toolchain(build):
    if shutil.which("swiftc"):
        pytest.skip("swiftc is installed here")
    result = Executor(Bwrap(), LIMITS, workers=1, build_dir=build).run_one(Job(1, "swift", "let x = 1", "print(x)"))
    assert result == Result("no_toolchain", 0.0, result.output, None)
    assert "swift" in result.output
    assert not (build / "1").exists()


def test_unfindable_binary_is_no_toolchain_and_unknown_language_is_unsupported(build, monkeypatch):
    class Refuses(Bwrap):
        def run(self, *args, **kwargs):
            raise AssertionError("nothing should run")

    monkeypatch.setattr(toolchains, "find", lambda language: None)
    executor = Executor(Refuses(), LIMITS, workers=2, build_dir=build)
    jobs = [Job(1, "php", "<?php echo 1;", ""), Job(2, "go", "package main", ""), Job(3, "python", "", "")]
    results = {job.key: result for job, result in executor.run(jobs)}
    assert results[1].status == "no_toolchain" and "php-cli" in results[1].output and results[1].toolchain is None
    assert results[2].status == "unsupported_language" and results[2].toolchain is None
    assert results[3].status == "no_toolchain" and "python3" in results[3].output
    assert executor.toolchains(["php", "go"]) == {"php": None, "go": None}
    assert set(STATUSES) >= {r.status for r in results.values()}


def test_unreachable_binary_is_not_found(tmp_path, monkeypatch):
    """A PATH entry the sandbox cannot run from (no execute bit) is not a toolchain."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "php").write_text("#!/bin/sh\necho fake\n")
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.setattr(binaries, "SEARCH", ())
    assert toolchains.find("php") is None


def test_layouts():
    python = toolchains.Toolchain("python", {"python": "/usr/bin/python3"}, "python", [])
    plan = python.plan("def f(): pass\n", "from solution import *\n", LIMITS)
    assert set(plan.files) == {"solution.py", "test_solution.py", "_oss_runner.py"} and plan.compile is None
    assert plan.run == ["/usr/bin/python3", "-E", "-s", "-B", "_oss_runner.py"] and plan.reports

    cpp = toolchains.Toolchain("cpp", {"g++": "/usr/bin/g++"}, "g++", []).plan("int main(){}", "int main(){}", LIMITS)
    assert cpp.files["main.cpp"].splitlines()[:6] == [
        "#define main oss_solution_main",
        '#include "solution.cpp"',
        "#undef main",
        "#undef NDEBUG",
        "#undef assert",
        "#include <assert.h>",
    ]
    assert '#include "test.cpp"\n#undef exit\n' in cpp.files["main.cpp"]
    assert cpp.compile == [
        "/usr/bin/g++", "-std=c++17", "-O0", "-o", "main", "_oss_runner.cpp", "main.cpp", "-Wl,--wrap=main"
    ]  # fmt: skip
    assert cpp.run == ["./main"] and cpp.reports and "__wrap_main" in cpp.files["_oss_runner.cpp"]

    java = toolchains.Toolchain("java", {"javac": "javac", "java": "java"}, "javac", [])
    plan = java.plan(
        "package a.b;\npublic final class Stack {}\n",
        "class Helper {}\nclass MyTest { static void main(String[] a) {} }",
        LIMITS,
    )
    assert set(plan.files) == {"Stack.java", "MyTest.java", "_OssRunner.java"}
    assert "package" not in plan.files["Stack.java"]
    assert plan.run[-6:] == ["-ea", "-cp", ".", "_OssRunner", "MyTest", "MyTest.java"]
    assert "-Xmx1024m" in plan.run and plan.reports
    files = java.plan("class X {}", "no main here", LIMITS).files.keys()
    assert files == {"Solution.java", "SolutionTest.java", "_OssRunner.java"}

    rust = toolchains.Toolchain("rust", {"rustc": "rustc"}, "rustc", [])
    plan = rust.plan("use std::io;\nfn main() {}\n", "use std::io;\nfn main() { }\n", LIMITS)
    assert plan.files["main.rs"].count("use std::io;") == 1 and "fn oss_solution_main(" in plan.files["main.rs"]
    assert "fn oss_tests_main(" in plan.files["main.rs"] and "--test" not in plan.compile and plan.reports
    assert "crate::tests::t" in rust.plan("fn f() {}", "mod tests {\n#[test]\nfn t() {}\n}", LIMITS).files["main.rs"]

    php = toolchains.Toolchain("php", {"php": "php"}, "php", []).plan("function f() {}", "f();", LIMITS)
    assert php.files["solution.php"].startswith("<?php\n") and php.files["test.php"].startswith("<?php\n")
    assert "require __DIR__ . '/solution.php';" in php.files["_oss_runner.php"] and php.reports

    csharp = toolchains.Toolchain("csharp", {"mcs": "mcs", "mono": "mono"}, "mcs", [])
    plan = csharp.plan("class S {}", "namespace T.U {\nclass Runner { static int Main() { return 0; } }\n}", LIMITS)
    assert "-main:_OssRunner" in plan.compile and "-define:DEBUG;TRACE" in plan.compile and plan.reports
    assert plan.run == ["mono", "-O=-inline", "test.exe", "T.U.Runner"]


def test_classification_by_output():
    py = toolchains.Toolchain("python", {}, "python", [])
    assert py.classify(1, None, "Traceback (most recent call last):\n  ...\nAssertionError\n") == "fail"
    assert py.classify(1, None, "Traceback (most recent call last):\n  ...\nKeyError: 3\n") == "runtime_error"
    assert py.classify(1, None, "Traceback (most recent call last):\nMemoryError\n") == "memory"
    assert py.classify(1, None, "bye\n") == "fail"
    assert py.classify(0, None, "AssertionError printed but handled") == "pass"
    cpp = toolchains.Toolchain("cpp", {}, "g++", [])
    assert cpp.classify(None, 11, "") == "runtime_error"
    assert cpp.classify(None, 6, "main: test.cpp:3: int main(): Assertion `add(2, 3) == 5' failed.") == "fail"
    assert cpp.classify(None, 6, "what():  std::bad_alloc") == "memory"
    assert cpp.classify(None, 25, "") == "output_limit"
    java = toolchains.Toolchain("java", {}, "javac", [])
    assert java.classify(1, None, 'Exception in thread "main" java.lang.AssertionError: x') == "fail"
    assert java.classify(1, None, 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap') == "memory"
    assert java.classify(1, None, 'Exception in thread "main" java.lang.NullPointerException') == "runtime_error"
    node = toolchains.Toolchain("typescript", {}, "tsc", [])
    assert node.classify(1, None, "code: 'ERR_ASSERTION'") == "fail"
    assert (
        node.classify(None, 6, "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory")
        == "memory"
    )
    rust = toolchains.Toolchain("rust", {}, "rustc", [])
    assert rust.classify(101, None, "assertion `left == right` failed\n  left: 1\n right: 2") == "fail"
    assert rust.classify(None, 6, "memory allocation of 2147483648 bytes failed") == "memory"
    assert (
        rust.classify(101, None, "thread 'main' panicked at src/main.rs:1:1:\nindex out of bounds") == "runtime_error"
    )
    php = toolchains.Toolchain("php", {}, "php", [])
    assert php.classify(255, None, "PHP Fatal error:  Uncaught AssertionError: assert(add(2, 3) === 5)") == "fail"
    assert php.classify(255, None, "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted") == "memory"
    cs = toolchains.Toolchain("csharp", {}, "mcs", [])
    assert cs.classify(1, None, "Unhandled Exception:\nSystem.OutOfMemoryException: Out of memory") == "memory"
    assert cs.classify(1, None, "Unhandled Exception:\nSystem.DivideByZeroException: x") == "runtime_error"
    sh = toolchains.Toolchain("shell", {}, "bash", [])
    assert sh.classify(2, None, "syntax error") == "fail" and sh.classify(None, 11, "") == "fail"


@needs_bwrap
def test_a_throw_in_the_tests_is_fail_and_one_in_the_solution_is_runtime_error(executor):
    """The Java and C# harnesses ask the tests to throw when a check fails: that is `fail`; the same exception type
    raised inside the solution is a crash (`runtime_error`)."""
    java_tests = (
        "public class SolutionTest { public static void main(String[] a) {\n"
        '    if (Adder.add(1, 2) != 3) throw new RuntimeException("add(1, 2) != 3"); } }'
    )
    cs_tests = (
        "using System;\npublic static class SolutionTests { public static void Main() {\n"
        '    if (Adder.Add(1, 2) != 3) throw new Exception("Add(1, 2) != 3"); } }'
    )
    rows = [
        ("java", "public class Adder { public static int add(int a, int b) { return a - b; } }", java_tests),
        ("java", "public class Adder { public static int add(int a, int b) { int[] x = new int[1]; return x[a]; } }",
         java_tests),
        ("csharp", "public static class Adder { public static int Add(int a, int b) { return a - b; } }", cs_tests),
        ("csharp", ("public static class Adder { public static int Add(int a, int b) { int[] x = new int[1]; "
                    "return x[b]; } }"), cs_tests),
    ]  # fmt: skip
    for language in ("java", "csharp"):
        need(language)
    statuses = [result.status for result in run_all(executor, rows)]
    assert statuses == ["fail", "runtime_error", "fail", "runtime_error"]


# ---------------------------------------------------------------------------------------------- compile marker
@needs_bwrap
def test_compile_marker_skips_the_second_compile(build):
    need("cpp")

    class Counting(Bwrap):
        def __init__(self):
            super().__init__()
            self.argvs = []

        def run(self, argv, *args, **kwargs):
            self.argvs.append(argv)
            return super().run(argv, *args, **kwargs)

    good, tests, _ = CASES["cpp"]
    first, second = Counting(), Counting()
    one = Executor(first, LIMITS, workers=2, build_dir=build).run_one(Job(7, "cpp", good, tests))
    marker = build / "7" / ".compiled.json"
    stamp = marker.stat().st_mtime_ns
    two = Executor(second, LIMITS, workers=2, build_dir=build).run_one(Job(7, "cpp", good, tests))
    assert one.status == two.status == "pass"
    assert [argv[0] for argv in first.argvs] == [toolchains.find("cpp").binaries["g++"], "./main"]
    assert second.argvs == [["./main"]] and marker.stat().st_mtime_ns == stamp
    assert json.loads(marker.read_text())["toolchain"] == one.toolchain

    # different code under the same key compiles again; forget() removes the folder
    third = Counting()
    executor = Executor(third, LIMITS, workers=2, build_dir=build)
    assert executor.run_one(Job(7, "cpp", CASES["cpp"][2], tests)).status == "fail" and len(third.argvs) == 2
    executor.forget(7)
    assert not (build / "7").exists()
    executor.forget(7)

"""The toolchains and the executor through the real bubblewrap sandbox, per language: a passing and a failing row,
compile errors, crashes, memory and time limits, output caps."""

from __future__ import annotations

import re
import shutil

import pytest

from dataset_builder.execution.executor import Executor
from dataset_builder.execution.sandbox import Bwrap, Limits
from tests.helpers.execution import LIMITS, SMALL_MEMORY, need, needs_bwrap, run_all

# ---------------------------------------------------------------------------------------------------- per language
# language -> (good solution, tests, bad solution); the tests pass on the good one and fail (`fail`) on the bad.
CASES = {
    "python": (
        "def add(a, b):\n    return a + b\n",
        "from solution import *\n\nassert add(2, 3) == 5\nassert add(-1, 1) == 0\n",
        "def add(a, b):\n    return a - b\n",
    ),
    "cpp": (
        "#include <vector>\nint add(int a, int b) { return a + b; }\nint main() { return add(1, 2); }\n",
        "#include <cassert>\nint main() {\n    assert(add(2, 3) == 5);\n    assert(add(-1, 1) == 0);\n}\n",
        "int add(int a, int b) { return a - b; }\n",
    ),
    "java": (
        "package demo;\n\npublic class Calculator {\n    public static int add(int a, int b) { return a + b; }\n}\n",
        (
            "public class SolutionTest {\n    public static void main(String[] args) {\n"
            '        assert Calculator.add(2, 3) == 5 : "add(2, 3)";\n    }\n}\n'
        ),
        "public class Calculator {\n    public static int add(int a, int b) { return a - b; }\n}\n",
    ),
    "typescript": (
        "import * as fs from 'fs';\nexport function add(a: number, b: number): number { return a + b; }\n",
        (
            "import * as fs from 'fs';\nimport assert from 'assert';\nimport { add } from './solution';\n\n"
            "assert.strictEqual(add(2, 3), 5);\nassert.ok(fs.existsSync('main.ts'));\n"
        ),
        "export function add(a: number, b: number): number { return a - b; }\n",
    ),
    "shell": (
        "add() {\n    echo $(( $1 + $2 ))\n}\n",
        'source ./solution.sh\n[ "$(add 2 3)" = 5 ] || { echo "add 2 3 failed"; exit 1; }\necho ok\n',
        "add() {\n    echo $(( $1 - $2 ))\n}\n",
    ),
    "csharp": (
        "public static class Calculator {\n    public static int Add(int a, int b) { return a + b; }\n}\n",
        (
            "using System;\nnamespace Checks {\n    public class SolutionTests {\n"
            "        public static void Main() {\n"
            "            if (Calculator.Add(2, 3) != 5) {\n"
            '                Console.WriteLine("Add(2, 3) wrong");\n'
            "                Environment.Exit(1);\n            }\n"
            "        }\n    }\n}\n"
        ),
        "public static class Calculator {\n    public static int Add(int a, int b) { return a - b; }\n}\n",
    ),
    "rust": (
        (
            "use std::collections::HashMap;\npub fn add(a: i32, b: i32) -> i32 { a + b }\n"
            'fn main() { let _m: HashMap<i32, i32> = HashMap::new(); println!("{}", add(1, 2)); }\n'
        ),
        (
            "use std::collections::HashMap;\n#[test]\nfn adds() {\n    let _m: HashMap<i32, i32> = HashMap::new();\n"
            "    assert_eq!(add(2, 3), 5);\n}\n"
        ),
        "pub fn add(a: i32, b: i32) -> i32 { a - b }\n",
    ),
    "php": (
        "function add($a, $b) {\n    return $a + $b;\n}\n",
        "<?php\nrequire_once 'solution.php';\nassert(add(2, 3) === 5);\necho \"ok\\n\";\n",
        "<?php\nfunction add($a, $b) {\n    return $a - $b;\n}\n",
    ),
}

# language -> a solution that does not compile (the tests are the good ones)
COMPILE_ERRORS = {
    "cpp": "int add(int a, int b) { return a + ; }\n",
    "java": 'public class Calculator {\n    public static int add(int a, int b) { return a + "x"; }\n}\n',
    # a type error alone runs under the default typescript_typecheck (report): a syntax error does not
    "typescript": "export function add(a: number, b: number): number { return a + ; }\n",
    "csharp": "public static class Calculator {\n    public static int Add(int a, int b) { return a + ; }\n}\n",
    "rust": 'pub fn add(a: i32, b: i32) -> i32 { a + "x" }\n',
    "python": "def add(a, b)\n    return a + b\n",
    "php": "<?php\nfunction add($a, $b) {\n    return $a + ;\n}\n",
}

# language -> (solution, tests) that crash with an error other than a failed assertion
RUNTIME_ERRORS = {
    "python": ("def add(a, b):\n    return {}[a]\n", CASES["python"][1]),
    "cpp": (
        "int add(int a, int b) { volatile int *p = nullptr; return *p + a + b; }\n",
        CASES["cpp"][1],
    ),
    "java": (
        "public class Calculator {\n    public static int add(int a, int b) { return a / (b - b); }\n}\n",
        CASES["java"][1],
    ),
    "typescript": (
        "export function add(a: number, b: number): number { throw new TypeError('boom'); }\n",
        CASES["typescript"][1],
    ),
    "csharp": (
        "public static class Calculator {\n    public static int Add(int a, int b) { return a / (b - b); }\n}\n",
        CASES["csharp"][1],
    ),
    "rust": ("pub fn add(a: i32, b: i32) -> i32 { let v: Vec<i32> = vec![]; v[a as usize] + b }\n", CASES["rust"][1]),
    "php": (
        "<?php\nfunction add($a, $b) {\n    throw new RuntimeException('boom');\n}\n",
        CASES["php"][1],
    ),
}

# language -> a solution that allocates far more than SMALL_MEMORY allows
MEMORY = {
    "python": "def add(a, b):\n    x = bytearray(1 << 30)\n    return a + b\n",
    "cpp": "#include <vector>\nint add(int a, int b) { std::vector<char> v(1UL << 31, 1); return a + b + v[7]; }\n",
    "java": "public class Calculator {\n    public static int add(int a, int b) {\n"
    "        long[] big = new long[1 << 28];\n        return a + b + (int) big[3];\n    }\n}\n",
    "typescript": "export function add(a: number, b: number): number {\n    const keep: number[][] = [];\n"
    "    for (;;) { keep.push(new Array(1 << 20).fill(1.5)); }\n}\n",
    "csharp": "public static class Calculator {\n    public static int Add(int a, int b) {\n"
    "        var big = new long[1 << 28];\n        return a + b + (int) big[3];\n    }\n}\n",
    "rust": "pub fn add(a: i32, b: i32) -> i32 { let v = vec![1u8; 1 << 31]; a + b + v[7] as i32 }\n",
    "php": "<?php\nfunction add($a, $b) {\n    return strlen(str_repeat('x', 1 << 30)) + $a + $b;\n}\n",
}


@needs_bwrap
@pytest.mark.parametrize("language", sorted(CASES))
def test_good_passes_and_bad_fails(executor, language):
    toolchain = need(language)
    good, tests, bad = CASES[language]
    passed, failed = run_all(executor, [(language, good, tests), (language, bad, tests)])
    assert passed.status == "pass", passed.output
    assert failed.status == "fail", failed.output
    assert passed.toolchain == toolchain.version and re.search(r"\d+\.\d+", passed.toolchain)
    assert passed.as_row()["exec_status"] == "pass" and set(passed.as_row()) == {
        "exec_status",
        "exec_seconds",
        "exec_output",
        "exec_toolchain",
        "exec_detail",
    }


@needs_bwrap
@pytest.mark.parametrize("language", sorted(COMPILE_ERRORS))
def test_compile_error(executor, language):
    need(language)
    (result,) = run_all(executor, [(language, COMPILE_ERRORS[language], CASES[language][1])])
    assert result.status == "compile_error", result.output
    assert result.output.strip()


@needs_bwrap
@pytest.mark.parametrize("language", sorted(RUNTIME_ERRORS))
def test_runtime_error(executor, language):
    need(language)
    (result,) = run_all(executor, [(language, *RUNTIME_ERRORS[language])])
    assert result.status == "runtime_error", result.output


@needs_bwrap
@pytest.mark.parametrize("language", sorted(MEMORY))
def test_memory(build, language):
    need(language)
    small = Executor(Bwrap(), SMALL_MEMORY, compile_limits=LIMITS, workers=2, build_dir=build)
    (result,) = run_all(small, [(language, MEMORY[language], CASES[language][1])])
    assert result.status == "memory", result.output


@needs_bwrap
def test_timeout_and_output_limit(build):
    need("python")
    quick = Executor(
        Bwrap(), Limits(wall_seconds=1.5, cpu_seconds=5, output_bytes=64 << 10), workers=2, build_dir=build
    )
    spin = "def add(a, b):\n    while True:\n        pass\n"
    loud = "def add(a, b):\n    while True:\n        print('x' * 1000)\n"
    spun, shouted = run_all(quick, [("python", spin, CASES["python"][1]), ("python", loud, CASES["python"][1])])
    assert spun.status == "timeout" and spun.seconds < 10
    assert shouted.status == "output_limit"


@needs_bwrap
def test_cpp_file_size_limit_is_output_limit(build):
    need("cpp")
    writer = (
        '#include <cstdio>\nint add(int a, int b) {\n    FILE *f = fopen("big", "w");\n'
        '    for (int i = 0; i < (1 << 20); i++) fputs("0123456789abcdef", f);\n    fclose(f);\n    return a + b;\n}\n'
    )
    small = Executor(Bwrap(), Limits(wall_seconds=20, file_bytes=1 << 20), workers=2, build_dir=build)
    (result,) = run_all(small, [("cpp", writer, CASES["cpp"][1])])
    assert result.status == "output_limit", result.output


def test_output_is_a_tail(build):
    need("python")
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap missing: apt-get install -y bubblewrap")
    short = Executor(Bwrap(), LIMITS, workers=2, build_dir=build, output_tail=50)
    noisy = "import sys\n" + "print('line %d' % 1)\n" * 100 + "sys.stdout.write('\\xff-end')\nassert False\n"
    (result,) = run_all(short, [("python", "", noisy)])
    assert result.status == "fail" and len(result.output) <= 50 and "AssertionError" in result.output

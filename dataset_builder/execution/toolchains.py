"""Per-language toolchains: where the compiler/interpreter is, how a row's files are laid out, and what a finished
run means.

Every binary is an absolute path, because the sandbox starts processes with an empty environment (`--clearenv`,
PATH=/usr/local/bin:/usr/bin:/bin, HOME=/tmp): a rustup shim or a pyenv shim would not work there. As root the
sandbox runs each worker as an unprivileged uid (`sandbox.Sandbox.uid`), so a binary counts as found only when that
uid can reach it (rustup's toolchains under /root, mode 700, cannot be).
The layout below is what the tests prompt tells the teacher (`prompts.HARNESS`); keep both in sync.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("python", "cpp", "java", "typescript", "shell", "csharp", "rust", "php", "swift")


def tools_dir() -> Path:
    """Where `install_toolchains.sh` puts npm tools (TypeScript). As root the default is outside /root, which the
    sandbox's unprivileged uid cannot enter."""
    if os.environ.get("OSS_INSTRUCT_TOOLS"):
        return Path(os.environ["OSS_INSTRUCT_TOOLS"])
    if os.geteuid() == 0:
        return Path("/usr/local/lib/oss-instruct/tools")
    return Path.home() / ".cache" / "oss-instruct" / "tools"


def _npm_hint() -> str:
    return f'npm install --prefix "{tools_dir() / "typescript"}" typescript@5 @types/node@20'


# The command each language's toolchain is known by (the card names it when a build machine lacks it).
COMMANDS = {
    "python": "python3",
    "cpp": "g++",
    "java": "javac",
    "typescript": "tsc",
    "shell": "bash",
    "csharp": "mcs",
    "rust": "rustc",
    "php": "php",
    "swift": "swiftc",
}
INSTALL_HINTS = {
    "python": "apt-get install -y python3",
    "cpp": "apt-get install -y g++",
    "java": "apt-get install -y openjdk-17-jdk-headless",
    "typescript": _npm_hint(),  # recomputed by install_hint(): OSS_INSTRUCT_TOOLS may change after import
    "shell": "apt-get install -y bash",
    "csharp": "apt-get install -y mono-mcs mono-runtime",
    "rust": "apt-get install -y rustc",
    "php": "apt-get install -y php-cli",
    "swift": "no Debian 12 package: install a Swift toolchain from swift.org and put swiftc on PATH",
}


def install_hint(language: str) -> str:
    return _npm_hint() if language == "typescript" else INSTALL_HINTS.get(language, "")


# ---------------------------------------------------------------------------------------------- finding binaries
_SEARCH = ("/usr/local/bin", "/usr/bin", "/bin")


def _reachable(path: Path) -> bool:
    """Whether the sandbox's process can execute/read `path`: as root it runs as another uid, so every folder on the
    way needs o+x and the file o+rx."""
    if os.geteuid() != 0:
        return os.access(path, os.X_OK)
    path = path.resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    mode = path.stat().st_mode
    return bool(mode & stat.S_IXOTH and mode & stat.S_IROTH)


def _candidates(name: str) -> list[Path]:
    """`name` on PATH, then in the standard folders; each resolved, without duplicates."""
    seen: list[Path] = []
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), *_SEARCH]:
        found = shutil.which(name, path=folder) if folder else None
        if found:
            real = Path(found).resolve()
            if real not in seen:
                seen.append(real)
    return seen


def _which(name: str) -> Path | None:
    for path in _candidates(name):
        if "/shims/" not in str(path) and _reachable(path):
            return path
    return None


def _rustc() -> Path | None:
    """The real rustc: rustup's `rustc` is a proxy that needs HOME/RUSTUP_HOME, so ask it for its sysroot."""
    for path in _candidates("rustc"):
        probe = subprocess.run([str(path), "--print", "sysroot"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            continue
        real = Path(probe.stdout.strip()) / "bin" / "rustc"
        if real.is_file() and _reachable(real):
            return real
    return None


def _python() -> Path | None:
    system = Path("/usr/bin/python3")
    return system if system.is_file() else _which("python3")


def _tsc() -> tuple[Path, Path | None] | None:
    """(tsc's JavaScript entry point, the @types folder holding `node` or None)."""
    local = tools_dir() / "typescript" / "node_modules" / "typescript" / "bin" / "tsc"
    on_path = _which("tsc")
    for script in (local, on_path):
        if script is not None and script.is_file() and _reachable(script):
            script = script.resolve()
            types = script.parents[2] / "@types"
            return script, types if (types / "node").is_dir() else None
    return None


# ------------------------------------------------------------------------------------------------------ versions
_VERSIONS: dict[tuple[str, ...], str] = {}
_VERSIONS_LOCK = threading.Lock()


def _version(label: str, argv: list[str]) -> str:
    """`label` + the first version number the command prints; computed once per command."""
    key = (label, *argv)
    with _VERSIONS_LOCK:
        if key not in _VERSIONS:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": ":".join(_SEARCH)})
            number = re.search(r"\d+\.\d+(?:\.\d+)*", done.stdout + done.stderr)
            _VERSIONS[key] = f"{label} {number.group(0) if number else 'unknown'}"
        return _VERSIONS[key]


# -------------------------------------------------------------------------------------------------------- plans
@dataclass
class Plan:
    """One row laid out for a toolchain: files to write into the row's folder, the compile step (None for an
    interpreter), the run step, and extra environment variables for both."""

    files: dict[str, str]
    compile: list[str] | None
    run: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        """Identifies what a compile produced from (files + compile command); the compile marker stores it."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(f"{name}\0{self.files[name]}\0".encode())
        h.update("\0".join(self.compile or []).encode())
        return h.hexdigest()


def _mb(n: int) -> int:
    return max(16, n >> 20)


# Patterns are tried in order (memory before assertion before any other error), each over the whole output,
# line-anchored where the runtime prints the exception name at a line start.
Patterns = tuple[tuple[str, str], ...]
_PY: Patterns = (
    (r"^MemoryError\b", "memory"),
    (r"^(?:SyntaxError|IndentationError|TabError)\b", "compile_error"),
    (r"^AssertionError\b", "fail"),
    (r"^Traceback \(most recent call last\):", "runtime_error"),
)
_CPP: Patterns = (
    (r"std::bad_alloc", "memory"),
    (r"Assertion [`'].*' failed", "fail"),
)
_JAVA: Patterns = (
    (r"java\.lang\.OutOfMemoryError", "memory"),
    (r"java\.lang\.AssertionError|org\.junit\.\S*(?:AssertionFailedError|ComparisonFailure)", "fail"),
    # thrown by the tests themselves (the harness's `throw`): the first frame is the tests' class, not the solution's
    (r'^Exception in thread "main" \S+(?:: .*)?\n\s+at SolutionTest\.', "fail"),
    (r"^Exception in thread |^\S+(?:Exception|Error)\b", "runtime_error"),
)
_NODE: Patterns = (
    (r"heap out of memory|Allocation failed - JavaScript heap|RangeError: Array buffer allocation failed", "memory"),
    (r"AssertionError|ERR_ASSERTION", "fail"),
    (r"^\w*Error\b|^Uncaught ", "runtime_error"),
)
_RUST: Patterns = (
    (r"memory allocation of \d+ bytes failed", "memory"),
    (r"assertion failed|assertion `left [=!]= right` failed", "fail"),
    (r"panicked at", "runtime_error"),
)
_PHP: Patterns = (
    (r"Allowed memory size of \d+ bytes exhausted|Out of memory \(allocated", "memory"),
    (r"PHP Parse error|^Parse error:", "compile_error"),
    (r"Uncaught AssertionError|AssertionError", "fail"),
    (r"Fatal error|Uncaught ", "runtime_error"),
)
_CSHARP: Patterns = (
    (r"System\.OutOfMemoryException", "memory"),
    (r"AssertFailedException|AssertionException|Assert\.Fail|DEBUG ASSERTION FAILED|Assertion failed", "fail"),
    # the harness's `throw new Exception(...)` in the tests' class (Mono inlines frames, so only the base type counts)
    (r"^System\.Exception: .*\n\s+at SolutionTests\.", "fail"),
    (r"Unhandled Exception|\bSystem\.\w*Exception\b", "runtime_error"),
)
_SWIFT: Patterns = (
    (r"Fatal error: Assertion failed|Assertion failed|Precondition failed", "fail"),
    (r"Fatal error", "runtime_error"),
)


@dataclass
class Toolchain:
    """A language's binaries (absolute paths), how to build and run a row, and how to read the outcome."""

    language: str
    binaries: dict[str, str]
    version_label: str
    version_argv: list[str]
    patterns: Patterns = ()
    # a crash signal means runtime_error unless a pattern says otherwise; shell scripts only pass or fail
    signals_crash: bool = True

    @property
    def version(self) -> str:
        return _version(self.version_label, self.version_argv)

    def plan(self, solution: str, tests: str, limits, compile_limits=None) -> Plan:
        return _PLANNERS[self.language](self, solution, tests, limits, compile_limits or limits)

    def classify(self, returncode: int | None, sig: int | None, output: str) -> str:
        """The status of a finished run (timeouts and output caps are decided by the caller first)."""
        if sig is None and returncode is not None and 128 < returncode < 128 + signal.NSIG:
            # bwrap (like a shell) reports a child killed by signal N as exit status 128 + N
            sig = returncode - 128
        if sig == signal.SIGXFSZ:
            return "output_limit"
        if sig == signal.SIGXCPU:
            return "timeout"
        if returncode == 0 and sig is None:
            return "pass"
        for pattern, status in self.patterns:
            if re.search(pattern, output, re.MULTILINE):
                return status
        if sig is not None and self.signals_crash:
            return "runtime_error"
        return "fail"


# --------------------------------------------------------------------------------------------- per-language plans
def _python_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    files = {"solution.py": solution, "test_solution.py": tests}
    return Plan(files, None, [tc.binaries["python"], "-E", "-s", "-B", "test_solution.py"])


def _cpp_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    main = '#define main oss_solution_main\n#include "solution.cpp"\n#undef main\n#include "test.cpp"\n'
    files = {"solution.cpp": solution, "test.cpp": tests, "main.cpp": main}
    return Plan(files, [tc.binaries["g++"], "-std=c++17", "-O0", "-o", "main", "main.cpp"], ["./main"])


_JAVA_TYPE = re.compile(
    r"^public\s+(?:(?:final|abstract|sealed|non-sealed|strictfp|static)\s+)*(?:class|interface|enum|record)\s+(\w+)",
    re.MULTILINE,
)
_ANY_JAVA_TYPE = re.compile(r"\b(?:class|interface|enum|record)\s+(\w+)")
_PACKAGE = re.compile(r"^\s*package\s+[\w.]+\s*;[ \t]*\n?", re.MULTILINE)


def _main_class(source: str, main: str) -> str | None:
    """The class whose body holds the first `main` method: the last type declared before it."""
    at = re.search(main, source)
    if at is None:
        return None
    names = [m.group(1) for m in _ANY_JAVA_TYPE.finditer(source, 0, at.start())]
    return names[-1] if names else None


def _jvm_flags(limits) -> list[str]:
    """Heap, metaspace and code cache inside RLIMIT_DATA; serial GC and C1 only, for start-up time and threads."""
    mb = _mb(limits.memory_bytes)
    return [
        f"-Xmx{max(8, mb // 2)}m",
        f"-XX:MaxMetaspaceSize={max(32, mb // 8)}m",
        "-XX:ReservedCodeCacheSize=64m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
    ]


def _java_plan(tc: Toolchain, solution, tests, limits, compile_limits) -> Plan:
    solution, tests = _PACKAGE.sub("", solution), _PACKAGE.sub("", tests)
    public = _JAVA_TYPE.search(solution)
    solution_file = f"{public.group(1) if public else 'Solution'}.java"
    test_class = _main_class(tests, r"static\s+void\s+main\s*\(") or "SolutionTest"
    files = {solution_file: solution, f"{test_class}.java": tests}
    if solution_file == f"{test_class}.java":  # one public class in both: javac reports it as a compile error
        files = {solution_file: solution, "SolutionTest.java": tests}
    javac = [tc.binaries["javac"], *[f"-J{flag}" for flag in _jvm_flags(compile_limits)], "-encoding", "UTF-8"]
    return Plan(
        files,
        [*javac, "-d", ".", *sorted(files)],
        [tc.binaries["java"], *_jvm_flags(limits), "-ea", "-cp", ".", test_class],
    )


def _drop_repeated(tests: str, solution: str, line_start: str) -> str:
    """The tests without lines starting with `line_start` that the solution already has (one file holds both)."""
    have = {line.strip() for line in solution.splitlines() if line.strip().startswith(line_start)}
    return "\n".join(line for line in tests.splitlines() if line.strip() not in have)


_TS_SOLUTION_IMPORT = re.compile(r"""^\s*import\b.*\bfrom\s+['"]\./solution(?:\.ts)?['"];?\s*$""", re.MULTILINE)


def _typescript_plan(tc: Toolchain, solution, tests, limits, compile_limits) -> Plan:
    # the tests share the solution's file, so an import of "./solution" would name a file that does not exist
    tests = _TS_SOLUTION_IMPORT.sub("", _drop_repeated(tests, solution, "import "))
    node = tc.binaries["node"]
    tsc = [node, f"--max-old-space-size={max(64, _mb(compile_limits.memory_bytes) // 2)}", tc.binaries["tsc"]]
    tsc += ["--noEmitOnError", "--module", "commonjs", "--target", "es2020", "--esModuleInterop", "--skipLibCheck"]
    if "types" in tc.binaries:
        tsc += ["--typeRoots", tc.binaries["types"], "--types", "node"]
    run = [node, f"--max-old-space-size={max(16, _mb(limits.memory_bytes) // 2)}", "main.js"]
    return Plan({"main.ts": f"{solution}\n\n{tests}\n"}, [*tsc, "main.ts"], run)


def _shell_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    return Plan({"solution.sh": solution, "test.sh": tests}, None, [tc.binaries["bash"], "test.sh"])


_CS_MAIN = r"static\s+(?:async\s+)?(?:void|int|Task(?:<int>)?)\s+Main\s*\("
_CS_NAMESPACE = re.compile(r"^\s*namespace\s+([\w.]+)", re.MULTILINE)


def _csharp_plan(tc: Toolchain, solution, tests, limits, compile_limits) -> Plan:
    argv = [tc.binaries["mcs"], "-out:test.exe"]
    main = _main_class(tests, _CS_MAIN)
    if main is not None:
        at = re.search(_CS_MAIN, tests).start()
        spaces = [m.group(1) for m in _CS_NAMESPACE.finditer(tests, 0, at)]
        argv.append(f"-main:{spaces[-1] + '.' if spaces else ''}{main}")
    # Mono's GC otherwise grows until RLIMIT_DATA makes it abort without a managed OutOfMemoryException
    env = {"MONO_GC_PARAMS": f"max-heap-size={max(16, _mb(limits.memory_bytes) // 2)}m"}
    files = {"Solution.cs": solution, "SolutionTests.cs": tests}
    return Plan(files, [*argv, "Solution.cs", "SolutionTests.cs"], [tc.binaries["mono"], "test.exe"], env)


_RUST_MAIN = re.compile(r"^(\s*)(?:pub\s+)?fn\s+main\s*\(", re.MULTILINE)


def _rust_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    solution = _RUST_MAIN.sub(r"\1#[allow(dead_code)] fn oss_solution_main(", solution)
    tests = _drop_repeated(tests, solution, "use ")
    argv = [tc.binaries["rustc"], "--edition", "2021", "-o", "main", "main.rs"]
    if "#[test]" in tests and not _RUST_MAIN.search(tests):
        argv.append("--test")
    # the test harness runs tests on threads; one keeps RLIMIT_NPROC and the output order predictable
    return Plan({"main.rs": f"{solution}\n\n{tests}\n"}, argv, ["./main"], {"RUST_TEST_THREADS": "1"})


_PHP_REQUIRE = re.compile(
    r"""^\s*(?:require|include)(?:_once)?\s*\(?\s*(?:__DIR__\s*\.\s*)?['"][./]*solution\.php['"]\s*\)?\s*;\s*$""",
    re.MULTILINE,
)


def _php_open(code: str) -> str:
    return code if code.lstrip().startswith("<?php") else f"<?php\n{code}"


def _php_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    runner = "<?php\nrequire_once __DIR__ . '/solution.php';\nrequire_once __DIR__ . '/test.php';\n"
    # runner.php loads the solution; a test's own `require 'solution.php'` would declare everything twice
    files = {
        "solution.php": _php_open(solution),
        "test.php": _php_open(_PHP_REQUIRE.sub("", tests)),
        "runner.php": runner,
    }
    # memory_limit (unlimited in Debian's CLI php.ini) below RLIMIT_DATA, so running out is PHP's clear message
    memory = f"memory_limit={max(16, _mb(limits.memory_bytes) * 3 // 4)}M"
    argv = [tc.binaries["php"], "-d", "zend.assertions=1", "-d", "assert.exception=1", "-d", memory, "runner.php"]
    return Plan(files, None, argv)


def _swift_plan(tc: Toolchain, solution, tests, limits, _compile_limits) -> Plan:
    return Plan(
        {"main.swift": f"{solution}\n\n{tests}\n"}, [tc.binaries["swiftc"], "-o", "main", "main.swift"], ["./main"]
    )


_PLANNERS = {
    "python": _python_plan,
    "cpp": _cpp_plan,
    "java": _java_plan,
    "typescript": _typescript_plan,
    "shell": _shell_plan,
    "csharp": _csharp_plan,
    "rust": _rust_plan,
    "php": _php_plan,
    "swift": _swift_plan,
}


# ---------------------------------------------------------------------------------------------------------- find
def find(language: str) -> Toolchain | None:
    """The language's toolchain, or None when it is not installed (or not usable by the sandbox's uid)."""
    if language == "python":
        python = _python()
        return python and Toolchain("python", {"python": str(python)}, "python", [str(python), "--version"], _PY)
    if language == "cpp":
        gxx = _which("g++")
        return gxx and Toolchain("cpp", {"g++": str(gxx)}, "g++", [str(gxx), "-dumpfullversion"], _CPP)
    if language == "java":
        javac, java = _which("javac"), _which("java")
        if javac is None or java is None:
            return None
        return Toolchain("java", {"javac": str(javac), "java": str(java)}, "javac", [str(javac), "-version"], _JAVA)
    if language == "typescript":
        node, tsc = _which("node"), _tsc()
        if node is None or tsc is None:
            return None
        binaries = {"tsc": str(tsc[0]), "node": str(node)}
        if tsc[1] is not None:
            binaries["types"] = str(tsc[1])
        return Toolchain("typescript", binaries, "tsc", [str(node), str(tsc[0]), "--version"], _NODE)
    if language == "shell":
        bash = _which("bash")
        return bash and Toolchain("shell", {"bash": str(bash)}, "bash", [str(bash), "--version"], signals_crash=False)
    if language == "csharp":
        mcs, mono = _which("mcs"), _which("mono")
        if mcs is None or mono is None:
            return None
        return Toolchain("csharp", {"mcs": str(mcs), "mono": str(mono)}, "mcs", [str(mcs), "--version"], _CSHARP)
    if language == "rust":
        rustc = _rustc()
        return rustc and Toolchain("rust", {"rustc": str(rustc)}, "rustc", [str(rustc), "--version"], _RUST)
    if language == "php":
        php = _which("php")
        return php and Toolchain("php", {"php": str(php)}, "php", [str(php), "--version"], _PHP)
    if language == "swift":
        swiftc = _which("swiftc")
        return swiftc and Toolchain("swift", {"swiftc": str(swiftc)}, "swiftc", [str(swiftc), "--version"], _SWIFT)
    return None

"""The benchmark's own harness: one file (prompt + solution + test, as the benchmark's harness concatenates them),
compiled and run with the same toolchain binaries the executor found, in the same kind of sandbox. Exit 0 is a pass,
except for HumanEval-X JavaScript, whose harness (CodeGeeX) also fails a run that prints anything (its tests use
`console.assert`, which prints and goes on).

Per language, as the benchmark's harness runs it: C++ `g++ -std=c++17`; Java `javac` + `java` on the class `Main`;
Python the file itself; JavaScript `node`; TypeScript (mxeval) `tsc --target es5 --lib es2016` with its type errors
ignored, then `node` on what it emitted; Rust `rustc --test` (CodeGeeX uses `cargo test` with the crates; rows that
need them are excluded); PHP `php`; C# `mcs` + `mono`. JVM, Node and PHP get heap caps below the sandbox's
RLIMIT_DATA, as the executor gives them, so running out of memory is the runtime's own error.
"""

from __future__ import annotations

import queue
import shutil
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.external.loaders import Problem


@dataclass(frozen=True)
class Own:
    """One language's single-file run: the file name, compile steps (whose exit status counts unless `lenient`),
    the run step, and whether a passing run must print nothing."""

    file: str
    compile: list[list[str]]
    run: list[str]
    env: dict[str, str]
    silent: bool = False
    lenient: bool = False
    produces: str | None = None  # a lenient compile must still leave this file


def own_command(problem: Problem, binaries: dict[str, str]) -> Own:
    language = problem.language
    if language == "python":
        return Own("main.py", [], [binaries["python"], "-E", "-s", "-B", "main.py"], {})
    if language == "cpp":
        return Own("main.cpp", [[binaries["g++"], "-std=c++17", "-o", "main", "main.cpp"]], ["./main"], {})
    if language == "java":
        javac = [binaries["javac"], "-J-Xmx512m", "-J-XX:+UseSerialGC", "-encoding", "UTF-8", "Main.java"]
        java = [binaries["java"], "-Xmx512m", "-XX:MaxMetaspaceSize=256m", "-XX:ReservedCodeCacheSize=64m"]
        java += ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", ".", "Main"]
        return Own("Main.java", [javac], java, {})
    if language in ("js", "typescript"):
        node = [binaries["node"], "--max-old-space-size=512"]
        if language == "js":
            return Own("main.js", [], [*node, "main.js"], {}, silent=problem.benchmark == "humaneval-x")
        tsc = [*node, binaries["tsc"], "--target", "es5", "--lib", "es2016", "main.ts"]
        return Own("main.ts", [tsc], [*node, "main.js"], {}, lenient=True, produces="main.js")
    if language == "rust":
        rustc = [binaries["rustc"], "--edition", "2021", "--test", "-o", "main", "main.rs"]
        return Own("main.rs", [rustc], ["./main"], {"RUST_TEST_THREADS": "1"})
    if language == "php":
        return Own("main.php", [], [binaries["php"], "-d", "memory_limit=1024M", "main.php"], {})
    if language == "csharp":
        return Own("main.cs", [[binaries["mcs"], "-out:main.exe", "main.cs"]], [binaries["mono"], "main.exe"], {})
    raise ValueError(f"no own harness for {problem.benchmark} {language}")


@dataclass(frozen=True)
class Item:
    key: int
    problem: Problem
    body: str | None = None  # None: the reference


class OwnHarness:
    """Runs `Item`s through their benchmark's own harness, `workers` at a time, each worker in its sandbox slot."""

    def __init__(self, sandbox, limits, compile_limits, workers: int, build_dir: Path):
        from dataset_builder.execution import toolchains

        self.sandbox, self.limits, self.compile_limits = sandbox, limits, compile_limits
        self.workers, self.build_dir = workers, Path(build_dir)
        self._toolchains = toolchains
        self._found: dict[str, object] = {}

    def binaries(self, language: str) -> dict[str, str] | None:
        if language not in self._found:
            self._found[language] = self._toolchains.find(language)
        found = self._found[language]
        return None if found is None else found.binaries

    def run_one(self, item: Item, slot: int) -> tuple[str, str]:
        """(status, output tail): pass, fail, compile_error, timeout or no_toolchain."""
        problem = item.problem
        binaries = self.binaries(problem.executor_language)
        if binaries is None:
            return "no_toolchain", ""
        own = own_command(problem, binaries)
        folder = self.build_dir / f"own-{item.key}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / own.file).write_text(problem.own_program(item.body), encoding="utf-8")
        try:
            for step in own.compile:
                # a compiler writes its output next to the source (the run step sees it read-only)
                done = self.sandbox.run(step, folder, self.compile_limits, slot=slot, env=own.env, writable_host=True)
                text = done.output.decode("utf-8", errors="replace")
                if done.timed_out:
                    return "timeout", text[-2000:]
                if own.lenient and own.produces and not (folder / own.produces).is_file():
                    return "compile_error", text[-2000:]
                if not own.lenient and (done.returncode != 0 or done.signal is not None):
                    return "compile_error", text[-2000:]
            done = self.sandbox.run(own.run, folder, self.limits, slot=slot, env=own.env)
            text = done.output.decode("utf-8", errors="replace")
            if done.timed_out:
                return "timeout", text[-2000:]
            ok = done.returncode == 0 and done.signal is None and not (own.silent and text.strip())
            return ("pass" if ok else "fail"), text[-2000:]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def run(self, items: Iterable[Item]) -> Iterator[tuple[Item, str, str]]:
        slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            slots.put(slot)

        def work(item: Item) -> tuple[Item, str, str]:
            slot = slots.get()
            try:
                return (item, *self.run_one(item, slot))
            finally:
                slots.put(slot)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="own") as pool:
            yield from pool.map(work, items)

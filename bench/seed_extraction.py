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
import json
import math
import multiprocessing as mp
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES_PER_REPO = 100
SHARD_ROWS = 10_000
AVG_DOC_BYTES = 3_000  # about what CodeMaker writes per document (log-uniform 20-400 lines)

# Share of the corpus per language (python heavier, as in the Stack) and file extension.
LANGUAGES = {
    "python": (0.30, ".py"),
    "cpp": (0.0875, ".cpp"),
    "java": (0.0875, ".java"),
    "typescript": (0.0875, ".ts"),
    "shell": (0.0875, ".sh"),
    "csharp": (0.0875, ".cs"),
    "rust": (0.0875, ".rs"),
    "php": (0.0875, ".php"),
    "swift": (0.0875, ".swift"),
}
# Per 1,000 code files: files that cannot make a seed, by kind.
BAD_PER_1000 = {"binary": 3, "not_utf8": 3, "empty": 3, "minified": 3, "generated": 2}
MIT = (
    "MIT License\n\nCopyright (c) 2024 Bench\n\nPermission is hereby granted, free of charge, to any person "
    'obtaining a copy\nof this software and associated documentation files (the "Software"), to deal\n'
)


# --------------------------------------------------------------------------------------------------------------
# Synthetic code
# --------------------------------------------------------------------------------------------------------------

HEADERS = {
    "python": ["import os", "import sys", "from typing import Optional", "import json", ""],
    "cpp": ["#include <vector>", "#include <string>", "#include <map>", "", "namespace bench {", ""],
    "java": ["package com.example.bench;", "", "import java.util.List;", "import java.util.Map;", ""],
    "typescript": ["import { readFile } from 'fs';", "import * as path from 'path';", ""],
    "shell": ["#!/usr/bin/env bash", "set -euo pipefail", "", 'ROOT="$(cd "$(dirname "$0")" && pwd)"', ""],
    "csharp": ["using System;", "using System.Collections.Generic;", "", "namespace Bench", "{"],
    "rust": ["use std::collections::HashMap;", "use std::fmt;", ""],
    "php": ["<?php", "", "namespace App\\Bench;", "", "use InvalidArgumentException;", ""],
    "swift": ["import Foundation", ""],
}

BLOCKS = {
    "python": """def {f}({a}, {b}=None):
    \"\"\"Return the {w} of {a}.\"\"\"
    if {b} is None:
        {b} = {n}
    total = 0
    for item in {a}:
        if item > {b}:
            total += item * {n}
        else:
            total -= 1
    return total
""",
    "cpp": """int {f}(const std::vector<int>& {a}, int {b}) {{
    // {w}: sum the values above the limit
    int total = 0;
    for (auto x : {a}) {{
        if (x > {b}) {{
            total += x * {n};
        }}
    }}
    return total;
}}
""",
    "java": """    public static int {f}(List<Integer> {a}, int {b}) {{
        // {w}
        int total = 0;
        for (int x : {a}) {{
            if (x > {b}) {{
                total += x * {n};
            }}
        }}
        return total;
    }}
""",
    "typescript": """export function {f}({a}: number[], {b}: number = {n}): number {{
  // {w}
  let total = 0;
  for (const x of {a}) {{
    if (x > {b}) {{
      total += x * {n};
    }}
  }}
  return total;
}}
""",
    "shell": """{f}() {{
  local {a}="$1"
  local {b}="${{2:-{n}}}"
  # {w}
  if [[ -z "${a}" ]]; then
    echo "usage: {f} FILE [N]" >&2
    return 1
  fi
  grep -c "{w}" "${a}" | head -n "${b}"
}}
""",
    "csharp": """    public static int {f}(IList<int> {a}, int {b})
    {{
        // {w}
        var total = 0;
        foreach (var x in {a})
        {{
            if (x > {b}) total += x * {n};
        }}
        return total;
    }}
""",
    "rust": """pub fn {f}({a}: &[i64], {b}: i64) -> i64 {{
    // {w}
    let mut total = 0;
    for x in {a} {{
        if *x > {b} {{
            total += x * {n};
        }}
    }}
    total
}}
""",
    "php": """function {f}(array ${a}, int ${b} = {n}): int
{{
    // {w}
    $total = 0;
    foreach (${a} as $x) {{
        if ($x > ${b}) {{
            $total += $x * {n};
        }}
    }}
    return $total;
}}
""",
    "swift": """func {f}(_ {a}: [Int], {b}: Int = {n}) -> Int {{
    // {w}
    var total = 0
    for x in {a} where x > {b} {{
        total += x * {n}
    }}
    return total
}}
""",
}
WORDS = "alpha beta gamma delta count index value total offset buffer cache score weight limit node edge".split()


class CodeMaker:
    """Fast synthetic source files: a header, then blocks from a pre-rendered pool until the target length."""

    def __init__(self, rng: random.Random, pool: int = 400):
        self.rng = rng
        self.pools = {}
        for lang, block in BLOCKS.items():
            rendered = []
            for i in range(pool):
                w = rng.sample(WORDS, 3)
                text = block.format(f=f"{w[0]}_{w[1]}_{i}", a=w[1], b=w[2], w=" ".join(w), n=rng.randint(1, 999))
                rendered.append((text, text.count("\n") + 1))
            self.pools[lang] = rendered

    def code(self, lang: str) -> str:
        target = int(math.exp(self.rng.uniform(math.log(20), math.log(400))))
        parts = list(HEADERS[lang])
        n = len(parts)
        pool = self.pools[lang]
        while n < target:
            text, lines = pool[self.rng.randrange(len(pool))]
            parts.append(text)
            n += lines
        return "\n".join(parts)

    def bad(self, kind: str, lang: str) -> bytes:
        if kind == "binary":
            return bytes(self.rng.randrange(256) for _ in range(2048)) + b"\0\0\0"
        if kind == "not_utf8":
            return ("// caf\xe9 na\xefve\n" + self.code(lang)).encode("latin-1")
        if kind == "empty":
            return b"" if self.rng.random() < 0.5 else b"\n\n   \n"
        if kind == "minified":  # one very long line (long_line), or many 300-character lines (minified)
            line = ";".join(f"var a{i}=function(b){{return b*{i}}}" for i in range(10))
            return ("\n".join([line] * 40) if self.rng.random() < 0.5 else line * 30).encode()
        if kind == "generated":
            return ("// Code generated by protoc. DO NOT EDIT.\n" + self.code(lang)).encode()
        raise ValueError(kind)


def corpus_plan(start: int, stop: int, seed: int):
    """Yield (index, lang, ext, bad kind or None) for code files start..stop-1, deterministic in `seed`."""
    rng = random.Random(f"{seed}:{start}")
    langs = list(LANGUAGES)
    weights = [LANGUAGES[lang][0] for lang in langs]
    bad_kinds = [kind for kind, per in BAD_PER_1000.items() for _ in range(per)]
    for i in range(start, stop):
        lang = rng.choices(langs, weights)[0]
        r = rng.randrange(1000)
        yield i, lang, LANGUAGES[lang][1], bad_kinds[r] if r < len(bad_kinds) else None


def write_directory(root: Path, start: int, stop: int, seed: int, label: str) -> dict:
    """Code files start..stop-1 in a folder of repositories (FILES_PER_REPO files, a LICENSE and a README each)."""
    maker = CodeMaker(random.Random(f"{seed}:{start}:code"))
    t0 = time.perf_counter()
    nbytes = bad = 0
    for i, lang, ext, kind in corpus_plan(start, stop, seed):
        repo = root / f"repo_{i // FILES_PER_REPO:06d}"
        sub = repo / "src" / f"pkg{i % 4}"
        if i % FILES_PER_REPO == 0:
            for k in range(4):
                (repo / "src" / f"pkg{k}").mkdir(parents=True, exist_ok=True)
            (repo / "LICENSE").write_text(MIT)
            (repo / "README.md").write_text(f"# repo {i}\n")
        data = maker.bad(kind, lang) if kind else maker.code(lang).encode()
        (sub / f"f{i}{ext}").write_bytes(data)
        nbytes += len(data)
        bad += kind is not None
        if (i + 1) % 50_000 == 0:
            print(f"  {label}: {i + 1:,}/{stop:,} files ({time.perf_counter() - t0:.0f} s)", flush=True)
    return {"files": stop - start, "bytes": nbytes, "bad": bad, "seconds": time.perf_counter() - t0}


def write_jsonl(root: Path, start: int, stop: int, seed: int, label: str) -> dict:
    """The same kind of documents as rows {content, lang, path, repo, license} in .jsonl shards of SHARD_ROWS rows.

    JSON cannot hold bytes: binary and non-UTF-8 documents become their latin-1 decoding (binary keeps its NULs).
    """
    maker = CodeMaker(random.Random(f"{seed}:{start}:code"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    nbytes = bad = 0
    out = None
    for i, lang, ext, kind in corpus_plan(start, stop, seed):
        if (i - start) % SHARD_ROWS == 0:
            if out:
                out.close()
            out = open(root / f"shard_{start:09d}_{(i - start) // SHARD_ROWS:05d}.jsonl", "w", encoding="utf-8")
        text = maker.bad(kind, lang).decode("latin-1") if kind else maker.code(lang)
        repo = f"bench/repo_{i // FILES_PER_REPO:06d}"
        row = {"content": text, "lang": lang, "path": f"src/pkg{i % 4}/f{i}{ext}", "repo": repo, "license": "MIT"}
        out.write(json.dumps(row) + "\n")
        nbytes += len(text)
        bad += kind is not None
        if (i + 1) % 50_000 == 0:
            print(f"  {label}: {i + 1:,}/{stop:,} rows ({time.perf_counter() - t0:.0f} s)", flush=True)
    if out:
        out.close()
    return {"files": stop - start, "bytes": nbytes, "bad": bad, "seconds": time.perf_counter() - t0}


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


def grow_corpus(root: Path, kind: str, start: int, stop: int, seed: int, label: str) -> tuple[Path, dict]:
    """Add documents start..stop-1 to the corpus at `root` (the 10x corpus is the 1x one plus 9x more)."""
    print(f"writing {label} corpus: documents {start:,}..{stop - 1:,} ({kind}) under {root} ...", flush=True)
    write = write_directory if kind == "directory" else write_jsonl
    info = write(root, start, stop, seed, label)
    print(f"  +{info['bytes'] / 1e6:,.0f} MB, {info['bad']} bad documents, {info['seconds']:.0f} s", flush=True)
    return (root if kind == "directory" else root / "*.jsonl"), info


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

"""The synthetic local corpus of bench/seed_extraction.py: code files in the nine languages of the paper.

Each code file is 20-400 lines (log-uniform) built from per-language blocks; per 1,000 files a few cannot make a seed
(binary, not UTF-8, empty, minified, generated). `write_directory` lays them out as a folder of repositories (with
non-code LICENSE and README files), `write_jsonl` as .jsonl shards; both are deterministic in the seed.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

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


def grow_corpus(root: Path, kind: str, start: int, stop: int, seed: int, label: str) -> tuple[Path, dict]:
    """Add documents start..stop-1 to the corpus at `root` (the 10x corpus is the 1x one plus 9x more)."""
    print(f"writing {label} corpus: documents {start:,}..{stop - 1:,} ({kind}) under {root} ...", flush=True)
    write = write_directory if kind == "directory" else write_jsonl
    info = write(root, start, stop, seed, label)
    print(f"  +{info['bytes'] / 1e6:,.0f} MB, {info['bad']} bad documents, {info['seconds']:.0f} s", flush=True)
    return (root if kind == "directory" else root / "*.jsonl"), info

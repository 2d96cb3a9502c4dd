"""Decontaminate stage: drop rows that contain benchmark strings (the StarCoder / bigcode-dataset logic of the paper).

Substring mode (always on): a row is contaminated when any benchmark string of `benchmarks.py`, lower-cased, occurs
in its lower-cased `problem + "\\n\\n" + solution` (the release joins its columns with a blank line; rows of the evol
and direct chains use `instruction` and `response`). Instead of bigcode's loop over every string for every row, an
index is built once and each row is read once (`SubstringIndex`): a window of `ANCHOR_CHARS` characters from the
middle of each string is hashed into a bitmap and a sorted array; the rows' windows are hashed with a rolling hash
(numpy, a chunk of rows at a time) and looked up; every hit is checked against the whole string at its offset, so the
verdict is exactly bigcode's `s.lower() in text.lower()`. Strings shorter than the window go into a small
Aho-Corasick automaton (pyahocorasick). The window comes from the middle because many solutions share their first
lines (`import sys`, `n = int(input())`). When several strings occur in a row, the one bigcode's loop would meet
first (recipe order of the benchmarks, then the benchmark's own order) is reported.

N-gram mode (`decontamination_ngram: N`, not in the paper): rows the substring test kept are also dropped when they
share a run of N words (`\\w+` tokens of the lower-cased text) with a benchmark string, which catches copies with
changed whitespace, punctuation or a few words. The benchmark n-grams are hashed once into a sorted array; rows are
hashed chunk by chunk with numpy and looked up by binary search; every hit is confirmed on the words themselves, so a
hash collision never removes a row. Strings of fewer than N words take part only in the substring test.

Kept rows go to `dataset/`; removed rows to `rejects/` with `reason` ("contaminated"), `benchmark`, `task_id`,
`matched` (the benchmark string, or the shared n-gram, cut to `MATCHED_CHARS`) and `method` ("substring" or
"ngram"). `report.md` in the run folder lists them with the benchmarks' sources and counts.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataset_builder.benchmarks import Benchmark, load_benchmarks
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

ANCHOR_CHARS = 32
MATCHED_CHARS = 300
SEPARATOR = "\n\n"
TEXT_COLUMNS = (("problem", "solution"), ("instruction", "response"))
REJECT_COLUMNS = ("reason", "benchmark", "task_id", "matched", "method")
NGRAM_CHUNK = 2_000  # rows (or benchmark strings) whose words are hashed at once
SCAN_CHUNK = 1_000  # rows whose characters are hashed at once (~2.5M characters, ~100 MB of numpy arrays)
WORD = re.compile(r"\w+")
BITMAP_BITS = 24  # a 16 MiB bitmap of window hashes: with 125K needles ~0.75% of windows pass it
_MIX = np.uint64(0x9E3779B97F4A7C15)
_BASE = np.uint64(0x100000001B3)
_INVERSE = np.uint64(pow(0x100000001B3, -1, 1 << 64))


@dataclass(frozen=True)
class Match:
    benchmark: str
    task_id: str
    matched: str
    method: str  # "substring" | "ngram"


def row_text(first: str | None, second: str | None) -> str:
    return (first or "") + SEPARATOR + (second or "")


def truncate(text: str, limit: int = MATCHED_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text)} chars]"


# --------------------------------------------------------------------------------------------------------------
# Substring index
# --------------------------------------------------------------------------------------------------------------


class SubstringIndex:
    """`min(i for i, s in enumerate(needles) if s in text)` for lower-cased needles, for many texts at once.

    Needles of `ANCHOR_CHARS` or more characters are found by a rolling hash of every `ANCHOR_CHARS`-character window
    of the texts (numpy, a chunk of rows at a time), filtered by a bitmap and a sorted array of the needles' window
    hashes, then checked in full. Shorter needles go into a small Aho-Corasick automaton (pyahocorasick), which is
    fast only while it is small: its nodes search their children one by one, and with ~125K keys it reads ~2.5 MB/s.
    """

    def __init__(self, needles: list[str]):
        import ahocorasick

        self.needles = needles
        self.short = ahocorasick.Automaton()
        table: dict[int, list[tuple[int, int]]] = defaultdict(list)  # window hash -> [(ordinal, offset)], ascending
        windows, owners = [], []
        for ordinal, needle in enumerate(needles):
            if len(needle) < ANCHOR_CHARS:
                self.short.add_word(needle, min(self.short.get(needle, ordinal), ordinal))
                continue
            offset = (len(needle) - ANCHOR_CHARS) // 2
            windows.append(needle[offset : offset + ANCHOR_CHARS])
            owners.append((ordinal, offset))
        if len(self.short):
            self.short.make_automaton()
        for h, owner in zip(_hashes(windows).tolist(), owners, strict=True):
            table[h].append(owner)
        self.table = dict(table)
        self.hashes = np.array(sorted(self.table), dtype=np.uint64)
        self.bitmap = np.zeros(1 << BITMAP_BITS, dtype=bool)
        self.bitmap[self.hashes >> np.uint64(64 - BITMAP_BITS)] = True
        self.windows = len(self.table)

    def first(self, text: str) -> int | None:
        """The lowest ordinal of a needle that occurs in `text` (lower-cased), or None."""
        return self.scan([text])[0]

    def scan(self, texts: list[str]) -> list[int | None]:
        """`first` of each lower-cased text."""
        best: list[int | None] = [None] * len(texts)
        if len(self.short):
            for row, text in enumerate(texts):
                for _, ordinal in self.short.iter(text):
                    if best[row] is None or ordinal < best[row]:
                        best[row] = ordinal
        if self.windows:
            self._scan_windows(texts, best)
        return best

    def _scan_windows(self, texts: list[str], best: list[int | None]) -> None:
        starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
        h = _rolling(_codepoints("\0".join(texts)))
        at = np.flatnonzero(self.bitmap[h >> np.uint64(64 - BITMAP_BITS)])
        k = np.minimum(np.searchsorted(self.hashes, h[at]), len(self.hashes) - 1)
        at = at[self.hashes[k] == h[at]]
        rows = np.searchsorted(starts, at, side="right") - 1
        for pos, row in zip(at.tolist(), rows.tolist(), strict=True):
            local = pos - int(starts[row])
            for ordinal, offset in self.table[int(h[pos])]:
                if best[row] is not None and ordinal >= best[row]:
                    break
                start = local - offset
                if start >= 0 and texts[row].startswith(self.needles[ordinal], start):
                    best[row] = ordinal
                    break


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, out=out)  # wraps modulo 2**64


def _rolling(x: np.ndarray) -> np.ndarray:
    """sum(x[i + t] * C**t for t < ANCHOR_CHARS) mod 2**64 for every i, with C the inverse of _BASE: from one prefix
    sum, S[i] = sum(x[j] * C**j for j < i), as (S[i + K] - S[i]) * _BASE**i."""
    m = len(x) - ANCHOR_CHARS + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    prefix = np.zeros(len(x) + 1, dtype=np.uint64)
    np.cumsum(x * _powers(_INVERSE, len(x)), out=prefix[1:])
    return (prefix[ANCHOR_CHARS:] - prefix[:m]) * _powers(_BASE, m)


def _hashes(windows: list[str]) -> np.ndarray:
    """The `_rolling` hash of each `ANCHOR_CHARS`-character window."""
    if not windows:
        return np.zeros(0, dtype=np.uint64)
    x = _codepoints("".join(windows)).reshape(len(windows), ANCHOR_CHARS)
    return (x * _powers(_INVERSE, ANCHOR_CHARS)).sum(axis=1, dtype=np.uint64)


# --------------------------------------------------------------------------------------------------------------
# Word n-gram index
# --------------------------------------------------------------------------------------------------------------


def ngram_hashes(id_lists: list[list[int]], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hash, document, position) of every n-gram of token ids that holds no unknown token (id 0).

    The documents are laid end to end with a 0 between them, so no n-gram spans two documents.
    """
    flat = np.fromiter(
        itertools.chain.from_iterable(itertools.chain(ids, (0,)) for ids in id_lists),
        dtype=np.uint64,
        count=sum(map(len, id_lists)) + len(id_lists),
    )
    m = len(flat) - n + 1
    if m <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(np.uint64), empty, empty
    unknown = np.concatenate(([0], np.cumsum(flat == 0)))
    at = np.flatnonzero(unknown[n:] == unknown[:-n])  # n-grams [i, i + n) without a 0
    mixed = flat * _MIX
    mixed ^= mixed >> np.uint64(29)
    h = np.zeros(m, dtype=np.uint64)
    for j in range(n):
        h *= _BASE
        h += mixed[j : j + m]
    starts = np.concatenate(([0], np.cumsum([len(ids) + 1 for ids in id_lists])[:-1])).astype(np.int64)
    doc = np.searchsorted(starts, at, side="right") - 1
    return h[at], doc, at - starts[doc]


class NgramIndex:
    """Rows sharing a word n-gram with a lower-cased needle; the owner of an n-gram is its lowest-ordinal needle."""

    def __init__(self, needles: list[str], n: int):
        from tqdm.auto import tqdm

        if n < 1:
            raise ConfigError(f"`decontamination_ngram` must be >= 1 (e.g. 13), got {n}.")
        self.n = n
        self.needles = needles
        tokens = [WORD.findall(needle) for needle in needles]
        self.vocab = {word: i for i, word in enumerate(dict.fromkeys(itertools.chain.from_iterable(tokens)), 1)}
        hashes, owners = [], []
        for start in tqdm(range(0, len(tokens), NGRAM_CHUNK), desc="decontaminate: n-gram index", unit="chunk"):
            chunk = [[self.vocab[w] for w in words] for words in tokens[start : start + NGRAM_CHUNK]]
            h, doc, _ = ngram_hashes(chunk, n)
            hashes.append(h)
            owners.append(doc + start)
        h = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        order = np.argsort(h, kind="stable")  # equal hashes keep ascending owners: the first is the lowest
        h, owner = h[order], owner[order]
        first = np.concatenate(([True], h[1:] != h[:-1])) if len(h) else np.zeros(0, dtype=bool)
        self.hashes, self.owners = h[first], owner[first]
        self._grams: dict[int, set] = {}

    def grams(self, ordinal: int) -> set:
        if ordinal not in self._grams:
            words = WORD.findall(self.needles[ordinal])
            self._grams[ordinal] = {tuple(words[i : i + self.n]) for i in range(len(words) - self.n + 1)}
        return self._grams[ordinal]

    def find(self, texts: list[str], desc: str = "decontaminate: n-grams") -> dict[int, tuple[int, str]]:
        """{row: (owner ordinal, shared n-gram)} for the rows that share an n-gram (the row's first such n-gram)."""
        from tqdm.auto import tqdm

        found: dict[int, tuple[int, str]] = {}
        if not len(self.hashes):
            return found
        for start in tqdm(range(0, len(texts), NGRAM_CHUNK), desc=desc, unit="chunk"):
            words = [WORD.findall(text.lower()) for text in texts[start : start + NGRAM_CHUNK]]
            h, doc, pos = ngram_hashes([[self.vocab.get(w, 0) for w in ws] for ws in words], self.n)
            k = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
            for i in np.flatnonzero(self.hashes[k] == h):
                row = int(doc[i]) + start
                if row in found:
                    continue
                gram = tuple(words[doc[i]][pos[i] : pos[i] + self.n])
                ordinal = int(self.owners[k[i]])
                if gram in self.grams(ordinal):
                    found[row] = (ordinal, " ".join(gram))
        return found


# --------------------------------------------------------------------------------------------------------------
# Both together
# --------------------------------------------------------------------------------------------------------------


class Decontaminator:
    """The index of a list of benchmarks, built once, and the verdict for any number of row texts."""

    def __init__(self, benchmarks: list[Benchmark], ngram: int | None = None):
        self.owners = [(b.name, task_id, text) for b in benchmarks for task_id, text in b.strings]
        needles = [text.lower() for _, _, text in self.owners]
        self.substring = SubstringIndex(needles)
        self.ngram = NgramIndex(needles, ngram) if ngram else None

    def _match(self, ordinal: int, method: str, matched: str | None = None) -> Match:
        benchmark, task_id, text = self.owners[ordinal]
        return Match(benchmark, task_id, truncate(matched or text), method)

    def find(self, texts: list[str]) -> list[Match | None]:
        """One verdict per text: the first benchmark string it contains (substring), else a shared n-gram."""
        from tqdm.auto import tqdm

        matches: list[Match | None] = [None] * len(texts)
        for start in tqdm(range(0, len(texts), SCAN_CHUNK), desc="decontaminate: substrings", unit="chunk"):
            chunk = [text.lower() for text in texts[start : start + SCAN_CHUNK]]
            for i, ordinal in enumerate(self.substring.scan(chunk), start):
                if ordinal is not None:
                    matches[i] = self._match(ordinal, "substring")
        if self.ngram is not None:
            rest = [i for i, m in enumerate(matches) if m is None]
            for j, (ordinal, gram) in self.ngram.find([texts[i] for i in rest]).items():
                matches[rest[j]] = self._match(ordinal, "ngram", gram)
        return matches

    def stats(self) -> dict:
        return {
            "strings": len(self.owners),
            "anchor_chars": ANCHOR_CHARS,
            "anchor_windows": self.substring.windows,
            "ngram": self.ngram.n if self.ngram else None,
            "ngram_hashes": len(self.ngram.hashes) if self.ngram else None,
        }


def naive_first(texts: list[str], needles: list[str]) -> list[int | None]:
    """bigcode's loop, the reference the index must agree with: the first needle (lower-cased) in each text."""
    out = []
    for text in texts:
        low = text.lower()
        out.append(next((i for i, needle in enumerate(needles) if needle in low), None))
    return out


# --------------------------------------------------------------------------------------------------------------
# Stage
# --------------------------------------------------------------------------------------------------------------


def text_columns(columns: list[str]) -> tuple[str, str]:
    for pair in TEXT_COLUMNS:
        if set(pair) <= set(columns):
            return pair
    raise ConfigError(f"decontaminate needs columns problem/solution or instruction/response, got {columns}.")


def _rejects(ds, removed: list[tuple[int, Match]]):
    from datasets import Dataset, Value

    rows = ds.select([i for i, _ in removed])
    columns = {name: rows[name] for name in rows.column_names}
    columns["reason"] = ["contaminated"] * len(removed)
    for name in REJECT_COLUMNS[1:]:
        columns[name] = [getattr(m, name) for _, m in removed]
    features = ds.features.copy()
    for name in REJECT_COLUMNS:
        features[name] = Value("string")
    return Dataset.from_dict(columns, features=features)


def _cell(text) -> str:
    return json.dumps(text, ensure_ascii=False).replace("|", "\\|") if isinstance(text, str) else str(text)


def _row(*cells) -> str:
    return "| " + " | ".join(map(str, cells)) + " |"


def write_report(path: Path, ds, removed: list[tuple[int, Match]], stats: dict) -> None:
    ngram = stats["index"]["ngram"]
    lines = [
        "# Decontamination report",
        "",
        "Method: case-insensitive exact substring search of benchmark strings in problem + solution "
        "(StarCoder / bigcode-dataset, as in the Magicoder paper)"
        + (f", plus word {ngram}-gram overlap (not in the paper)." if ngram else "."),
        "",
        f"Rows: {stats['rows_in']} in, {stats['kept']} kept, {len(removed)} removed.",
        "",
        "## Benchmarks",
        "",
        "| benchmark | source | strings | removed (substring) | removed (n-gram) |",
        "|---|---|---|---|---|",
    ]
    for name, info in stats["benchmarks"].items():
        src = info["source"]
        where = src.get("package") or src.get("path")
        by = stats["removed_by_benchmark"].get(name, {})
        lines.append(
            _row(name, f"{src['kind']}: `{where}`", info["strings"], by.get("substring", 0), by.get("ngram", 0))
        )
    for name in stats["skipped_benchmarks"]:
        lines.append(_row(name, "**skipped on purpose (skip_benchmarks): not checked**", "-", "-", "-"))
    lines += ["", "## Removed rows", ""]
    if removed:
        ids = ds.select([i for i, _ in removed])
        index = ids["index"] if "index" in ids.column_names else [i for i, _ in removed]
        langs = ids["lang"] if "lang" in ids.column_names else [""] * len(removed)
        lines += ["| index | lang | benchmark | task id | method | matched |", "|---|---|---|---|---|---|"]
        for (_, m), idx, lang in zip(removed, index, langs, strict=True):
            lines.append(_row(idx, lang, m.benchmark, _cell(m.task_id), m.method, _cell(truncate(m.matched, 120))))
    else:
        lines.append("None.")
    path.write_text("\n".join(lines) + "\n")


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    # --- benchmarks and rows ---
    benchmarks, skipped = load_benchmarks(config)
    ds = upstream.load()
    first, second = text_columns(ds.column_names)
    texts = [row_text(a, b) for a, b in zip(ds[first], ds[second], strict=True)]

    # --- index once, then one pass over the rows ---
    t0 = time.perf_counter()
    decontaminator = Decontaminator(benchmarks, config.decontamination_ngram)
    t1 = time.perf_counter()
    matches = decontaminator.find(texts)
    t2 = time.perf_counter()

    # --- split, count, report, save ---
    counter = DropCounter()
    by_benchmark: dict[str, Counter] = defaultdict(Counter)
    removed = []
    for i, match in enumerate(matches):
        if match is None:
            counter.keep()
            continue
        counter.drop("contaminated")
        by_benchmark[match.benchmark][match.method] += 1
        removed.append((i, match))
    extras = {
        "removed_by_benchmark": {name: dict(c) for name, c in sorted(by_benchmark.items())},
        "benchmarks": {b.name: b.summary() for b in benchmarks},
        "skipped_benchmarks": skipped,
        "text_columns": [first, second],
        "index": decontaminator.stats(),
        "seconds": {"index": round(t1 - t0, 3), "scan": round(t2 - t1, 3)},
        "report": "report.md",
    }
    write_report(run_dir.path / "report.md", ds, removed, counter.counts() | extras)
    kept = ds.select([i for i, m in enumerate(matches) if m is None])
    run_dir.save(kept, _rejects(ds, removed), counter, **extras)
    logger.info(
        "decontaminate: %s; by benchmark %s; skipped %s -> %s",
        counter.summary(),
        extras["removed_by_benchmark"] or "{}",
        skipped or "none",
        run_dir.dataset_path,
    )


class Decontaminate(Stage):
    """Drops rows that contain a benchmark string (or share an n-gram with one)."""

    name = "decontaminate"
    version = 1
    run = staticmethod(run)

"""Clean stage: drop duplicates, keep noisy rows (paper §2.2 and Table 10).

Rows flow in `raw_index` order through small filters; each filter answers keep (`None`) or a `Drop(reason,
duplicate_of)`, and a row kept by all of them is remembered by each, so the first occurrence is the one kept and
`duplicate_of` always names a kept row. The filters:

- `ExactDedup`, the paper's rule as in the release: a row is dropped when its seed, its problem or its solution was
  seen before, after whitespace normalisation (every run of whitespace counts as one space, ends stripped). Reasons,
  checked in this order: `identical` (seed, problem and solution all seen in one kept row), `duplicate_seed`,
  `duplicate_problem`, `duplicate_solution`.
- `NearDedup` (off unless `near_dedup: true`): MinHash over lower-cased word n-grams of problem + solution, candidates
  from datasketch's `MinHashLSH` and confirmed by their estimated Jaccard similarity; reason `near_duplicate`.

Rows of one problem (one `raw_index`: the solutions that `verify_keep: diverse` publishes) share seed and problem by
design: neither filter drops a row for matching its own problem's first row there (`SIBLING_SHARED`), only for an
identical row or solution.

Noisy rows (`pass`, `NotImplemented`, unfinished solutions) are kept, as in the paper. Every dropped row goes to
`rejects/` with `reason` and `duplicate_of` (the `raw_index` of the kept row it repeats); kept rows get `index`
re-numbered 0..n-1 and keep their `raw_index`. Memory: 16-byte digests per kept row for the exact filter, and with
near-dedup the LSH tables plus `minhash_num_perm` 32-bit values per kept row (about 50 MB for 75K rows at 128).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir, with_index
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

EXACT_REASONS = ("identical", "duplicate_seed", "duplicate_problem", "duplicate_solution")
WORD = re.compile(r"\w+")
BATCH_SIZE = 1_000


@dataclass(frozen=True)
class Drop:
    reason: str
    duplicate_of: int | None = None


def normalize(text: str | None) -> str:
    """Whitespace-normalised text: runs of whitespace become one space, the ends are stripped."""
    return " ".join((text or "").split())


def _digest(*parts: str | None) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(normalize(part).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.digest()


class ExactDedup:
    """Drops a row whose seed, problem or solution (whitespace-normalised) a kept row already has."""

    def __init__(self):
        self.seen: dict[str, dict[bytes, int]] = {reason: {} for reason in EXACT_REASONS}

    @staticmethod
    def _keys(row: dict) -> dict[str, bytes]:
        return {
            "identical": _digest(row["seed"], row["problem"], row["solution"]),
            "duplicate_seed": _digest(row["seed"]),
            "duplicate_problem": _digest(row["problem"]),
            "duplicate_solution": _digest(row["solution"]),
        }

    def check(self, row: dict) -> Drop | None:
        for reason, key in self._keys(row).items():
            first = self.seen[reason].get(key)
            if first is not None and not (first == row["raw_index"] and reason in SIBLING_SHARED):
                return Drop(reason, first)
        return None

    def remember(self, row: dict) -> None:
        for reason, key in self._keys(row).items():
            self.seen[reason].setdefault(key, row["raw_index"])


# Rows of one problem (one raw_index: `verify_keep: diverse` publishes several solutions of it) share their seed and
# problem by design; they are still dropped when identical or when their solutions are.
SIBLING_SHARED = frozenset({"duplicate_seed", "duplicate_problem"})


def shingles(text: str, n: int) -> set[bytes]:
    """Lower-cased word n-grams; a text shorter than n words is one shingle, an empty one has none."""
    words = WORD.findall(text.lower())
    if len(words) < n:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


class NearDedup:
    """Drops a row whose problem + solution is near a kept row's: MinHash/LSH (datasketch), Jaccard confirmed."""

    def __init__(self, num_perm: int = 128, ngram: int = 5, threshold: float = 0.7):
        try:
            from datasketch import MinHash, MinHashLSH
        except ImportError as err:
            raise ConfigError(
                "near_dedup needs datasketch: `pip install datasketch`, or set near_dedup: false."
            ) from err
        if num_perm < 2 or ngram < 1 or not 0.0 < threshold <= 1.0:
            raise ConfigError(
                f"near_dedup needs minhash_num_perm >= 2, minhash_ngram >= 1 and 0 < minhash_threshold <= 1, got "
                f"{num_perm}, {ngram}, {threshold}."
            )
        self.ngram, self.threshold = ngram, threshold
        base = MinHash(num_perm=num_perm, seed=1)  # the permutations are made once and shared
        shared = {"permutations": base.permutations}
        if hasattr(base, "scheme"):  # datasketch >= 2.0 asks for the hashing scheme along with them
            shared["scheme"] = base.scheme
        self._new = lambda: MinHash(num_perm=num_perm, **shared)
        try:
            self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        except ValueError as err:
            raise ConfigError(
                f"datasketch cannot build LSH bands for minhash_threshold={threshold} with minhash_num_perm="
                f"{num_perm} ({err}): raise minhash_num_perm or lower minhash_threshold."
            ) from err
        self.kept: dict[int, object] = {}  # raw_index -> hash values of a kept row
        self._last: tuple[int, object] | None = None

    def _minhash(self, row: dict):
        grams = shingles(f"{row['problem'] or ''}\n{row['solution'] or ''}", self.ngram)
        if not grams:
            return None
        m = self._new()
        m.update_batch(sorted(grams))
        return m

    def check(self, row: dict) -> Drop | None:
        m = self._minhash(row)
        self._last = (row["raw_index"], m)
        if m is None:
            return None
        near = [
            key
            for key in self.lsh.query(m)
            if key != row["raw_index"]  # a sibling: another published solution of the same problem
            and (m.hashvalues == self.kept[key]).mean() >= self.threshold  # LSH candidates can be below it
        ]
        return Drop("near_duplicate", min(near)) if near else None

    def remember(self, row: dict) -> None:
        if self._last is not None and self._last[0] == row["raw_index"]:
            m = self._last[1]
        else:  # remembered without being checked
            m = self._minhash(row)
        if m is not None and row["raw_index"] not in self.kept:  # a problem's first kept row stands for it
            self.lsh.insert(row["raw_index"], m)
            self.kept[row["raw_index"]] = m.hashvalues


def make_filters(config: BuilderConfig) -> list:
    filters: list = [ExactDedup()]
    if config.near_dedup:
        filters.append(NearDedup(config.minhash_num_perm, config.minhash_ngram, config.minhash_threshold))
    return filters


def decide(rows: Iterable[dict], filters: list, counter: DropCounter | None = None) -> list[Drop | None]:
    """One decision per row (None = keep), rows taken in the order given (the stage sorts by raw_index)."""
    decisions = []
    for row in rows:
        drop = None
        for f in filters:
            drop = f.check(row)
            if drop is not None:
                break
        if drop is None:
            for f in filters:
                f.remember(row)
        if counter is not None and drop is not None:
            counter.drop(drop.reason)
        elif counter is not None:
            counter.keep()
        decisions.append(drop)
    return decisions


def _rows(dataset) -> Iterable[dict]:
    columns = ["raw_index", "seed", "problem", "solution"]
    for batch in dataset.select_columns(columns).iter(batch_size=BATCH_SIZE):
        for values in zip(*(batch[c] for c in columns), strict=True):
            yield dict(zip(columns, values, strict=True))


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    from datasets import Value
    from tqdm.auto import tqdm

    parsed = upstream.load()
    raw = parsed["raw_index"]
    if any(a > b for a, b in zip(raw, raw[1:], strict=False)):  # "first occurrence" means in raw_index order
        parsed = parsed.select(sorted(range(len(raw)), key=raw.__getitem__))
    del raw

    counter = DropCounter()
    filters = make_filters(config)
    with tqdm(_rows(parsed), total=len(parsed), desc="clean", unit="row", dynamic_ncols=True) as rows:
        decisions = decide(rows, filters, counter)

    kept_at = [i for i, d in enumerate(decisions) if d is None]
    dropped_at = [i for i, d in enumerate(decisions) if d is not None]
    columns = parsed.column_names
    kept = parsed.select(kept_at)
    if "index" in columns:
        kept = kept.remove_columns("index")
    kept = with_index(kept).select_columns(columns)
    rejects = parsed.select(dropped_at)
    rejects = rejects.add_column("reason", [decisions[i].reason for i in dropped_at], feature=Value("string"))
    rejects = rejects.add_column(
        "duplicate_of", [decisions[i].duplicate_of for i in dropped_at], feature=Value("int64")
    )

    near = config.near_dedup and {
        "num_perm": config.minhash_num_perm,
        "ngram": config.minhash_ngram,
        "threshold": config.minhash_threshold,
    }
    run_dir.save(kept, rejects, counter, near_dedup=near or False)
    logger.info("clean: %s of %d rows -> %s", counter.summary(), len(parsed), run_dir.dataset_path)


class Clean(Stage):
    """Drops duplicate rows (exact; near-duplicates with `near_dedup`); noisy rows are kept."""

    name = "clean"
    version = 1
    run = staticmethod(run)

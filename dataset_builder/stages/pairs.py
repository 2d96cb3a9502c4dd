"""Direct-finetuning variant (paper §4.2, Table 6): comment–function pairs mined from the seed documents.

The paper follows CodeSearchNet to mine comment–function pairs from the same seed documents, trains the model to
predict a function's body from its signature and comment, takes first the pairs that overlap a seed snippet (about
11K) and fills up to the size of OSS-Instruct (75K) from the rest of the documents. This stage writes every pair,
those overlapping their document's seed snippet first (`overlaps_seed`), so the paper's set is the first N rows.

Each seed's whole document is read again from the local corpus and mined by `dataset_builder.function_pairs` (what a
pair is and which functions qualify). Test files are skipped by path; a document that no longer holds its seed
snippet is skipped; exact duplicates (whitespace-normalised instruction and response) are dropped, the first one kept.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from pathlib import Path

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.function_pairs import BRACE_LANGUAGES, mine_pairs
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

PAIR_COLUMNS = ("instruction", "response", "lang", "source", "path", "raw_index", "line_start", "line_end")
OUTPUT_COLUMNS = (*PAIR_COLUMNS, "overlaps_seed")
REJECT_COLUMNS = (*PAIR_COLUMNS, "reason")
TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|specs?|testing)/|(^|/)test_[^/]*$|_tests?\.\w+$|Tests?\.\w+$|\.(test|spec)\.\w+$"
)


def _document_root(config: BuilderConfig) -> Path:
    from dataset_builder.corpus_readers import resolve_corpus

    kind, location = resolve_corpus(config)
    if kind not in ("directory", "quickstart"):
        raise ConfigError(
            f"pairs: the {kind} corpus {config.corpus!r} cannot be re-read: seed rows keep no way back to their whole "
            "document for Hub or file corpora. Use a local folder (or the quickstart corpus) for this variant."
        )
    return Path(location)


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(" ".join(part.split()).encode("utf-8", "surrogatepass") + b"\0")
    return h.digest()


def _snippet_matches(text: str, seed: str, line_start: int, line_end: int) -> bool:
    """The document still holds the seed where the seeds stage took it (the corpus has not changed since)."""
    chunk = "".join(text.splitlines(keepends=True)[line_start - 1 : line_end])
    return chunk.removesuffix("\n").removesuffix("\r") == seed


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    import shutil

    from datasets import Dataset, Features, Value, concatenate_datasets
    from tqdm.auto import tqdm

    from dataset_builder.documents import check_document

    root = _document_root(config)
    seeds = upstream.load()
    documents = DropCounter()
    doc_rejects: list[dict] = []

    def reject(seed: dict, reason: str) -> None:
        documents.drop(reason)
        doc_rejects.append({k: seed.get(k) for k in PAIR_COLUMNS} | {"reason": reason})

    def generate():
        for seed in tqdm(seeds, desc="pairs: mining", unit="doc", dynamic_ncols=True):
            path, lang = seed["path"], seed["lang"]
            if TEST_PATH.search(path):
                reject(seed, "test_file")
                continue
            if lang != "python" and lang not in BRACE_LANGUAGES:
                reject(seed, "unsupported_language")
                continue
            try:
                text, reason = check_document((root / path).read_bytes(), config)
            except OSError:
                text, reason = None, "unreadable"
            if text is not None and not _snippet_matches(text, seed["seed"], seed["line_start"], seed["line_end"]):
                text, reason = None, "document_changed"
            found = []
            if text is not None:
                try:
                    found = mine_pairs(text, lang)
                except (SyntaxError, ValueError):  # ast: invalid (e.g. Python 2) source, null bytes
                    reason = "unparseable"
                else:
                    reason = None if found else "no_pairs"
            if reason is not None:
                reject(seed, reason)
                continue
            documents.keep()
            for pair in found:
                overlaps = pair["line_start"] <= seed["line_end"] and pair["line_end"] >= seed["line_start"]
                yield {
                    "instruction": pair["instruction"],
                    "response": pair["response"],
                    "lang": lang,
                    "source": seed["source"],
                    "path": path,
                    "raw_index": seed["raw_index"],
                    "line_start": pair["line_start"],
                    "line_end": pair["line_end"],
                    "overlaps_seed": overlaps,
                }

    types = {"raw_index": "int64", "line_start": "int64", "line_end": "int64", "overlaps_seed": "bool"}
    features = Features({k: Value(types.get(k, "string")) for k in OUTPUT_COLUMNS})
    cache = run_dir.path / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    mined = Dataset.from_generator(generate, features=features, cache_dir=str(cache), fingerprint=run_dir.fingerprint)

    # the paper's priority: pairs overlapping a seed snippet first; then exact duplicates dropped, first one kept
    overlaps = mined["overlaps_seed"]
    order = [i for i, o in enumerate(overlaps) if o] + [i for i, o in enumerate(overlaps) if not o]
    pairs = DropCounter()
    seen: set[bytes] = set()
    kept_at, duplicate_at = [], []
    for start in range(0, len(order), 1_000):
        chunk = order[start : start + 1_000]
        batch = mined.select(chunk).select_columns(["instruction", "response"])[:]
        for i, instruction, response in zip(chunk, batch["instruction"], batch["response"], strict=True):
            key = _digest(instruction, response)
            if key in seen:
                pairs.drop("duplicate_pair")
                duplicate_at.append(i)
            else:
                pairs.keep()
                seen.add(key)
                kept_at.append(i)
    dataset = mined.select(kept_at)

    reject_features = Features({k: features[k] for k in PAIR_COLUMNS} | {"reason": Value("string")})
    duplicates = mined.select(duplicate_at).select_columns(list(PAIR_COLUMNS))
    duplicates = duplicates.add_column("reason", ["duplicate_pair"] * len(duplicate_at), feature=Value("string"))
    docs = Dataset.from_dict({k: [r[k] for r in doc_rejects] for k in REJECT_COLUMNS}, features=reject_features)
    rejects = concatenate_datasets([docs, duplicates.cast(reject_features)])

    # rows in: the seed documents; rows out: the pairs; dropped: documents and duplicate pairs, as in rejects/
    counts = DropCounter(kept=len(dataset), dropped=documents.dropped + pairs.dropped, rows_in=len(seeds))
    overlapping = sum(dataset["overlaps_seed"])
    run_dir.save(
        dataset,
        rejects,
        counts,
        documents={"seen": len(seeds), **documents.as_dict()},
        pairs=pairs.as_dict(),
        overlapping_seed=overlapping,
        per_language=dict(sorted(Counter(dataset["lang"]).items())),
    )
    shutil.rmtree(cache, ignore_errors=True)
    logger.info(
        "pairs: %d pairs (%d overlapping a seed) from %s documents; %s -> %s",
        len(dataset),
        overlapping,
        documents.summary(),
        pairs.summary(),
        run_dir.dataset_path,
    )


class Pairs(Stage):
    """Mines comment-function pairs from the seeds' documents (the paper's Table 6)."""

    name = "pairs"
    version = 1
    run = staticmethod(run)

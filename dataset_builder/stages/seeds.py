"""Seed stage: documents from a corpus -> one random run of `min_lines`..`max_lines` lines per document.

Sources (`dataset_builder.corpus_readers`) yield `Candidate`s. Local corpora (directory, files, quickstart) are
sampled with a bottom-k sketch: each document gets a priority from `hash(seed, document key)` and each language keeps
the `quota` valid documents of lowest priority. The sample is uniform, independent of traversal order, reproducible
from `seed`, and memory is bounded by the quotas, not the corpus. In a folder, a file whose priority cannot make the
sample is never opened (rows of .jsonl/.parquet files are parsed by `datasets` either way). Hub corpora are streamed
(never downloaded whole) through `IterableDataset.shuffle(seed, buffer_size)` and the first `quota` valid documents
per language are taken.

Documents that cannot make a useful seed are skipped and counted by reason.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
import random
import subprocess
from glob import glob
from pathlib import Path

from dataset_builder import languages as langs
from dataset_builder import licenses
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.corpus_readers import (
    Candidate,
    DirectorySource,
    FilesSource,
    hub_stream,
    resolve_corpus,
    row_field,
)
from dataset_builder.documents import check_document, extract_snippet
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

SEED_COLUMNS = (
    "raw_index",
    "lang",
    "seed",
    "source",
    "repository",
    "path",
    "line_start",
    "line_end",
    "license",
)
REJECT_COLUMNS = ("source", "repository", "path", "lang", "reason")


def priority(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest(), "big")


def corpus_signature(config: BuilderConfig) -> dict:
    """What identifies the corpus's content, for the fingerprint: a local corpus that changes gets new seeds.

    A git checkout: its HEAD commit and whether it has uncommitted changes. Another folder or local files: count,
    total size and newest modification time (a stat walk, no reads). The bundled corpus: the package version. A Hub
    corpus: its revision.
    """
    kind, location = resolve_corpus(config)
    if kind == "quickstart":
        from dataset_builder import __version__

        return {"kind": kind, "version": __version__}
    if kind == "hub":
        return {"kind": kind, "revision": config.corpus_revision or "main"}
    if kind == "directory" and (Path(location) / ".git").exists():
        git = ["git", "-C", location]
        try:
            head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, check=True, text=True).stdout
            dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as err:
            logger.warning("cannot read the git state of %s (%s): fingerprinting its files instead", location, err)
        else:
            return {"kind": "git", "head": head.strip(), "dirty": hashlib.sha256(dirty).hexdigest()[:16]}
    if kind == "directory":
        paths = (os.path.join(d, f) for d, _, files in os.walk(location) for f in files)
    else:
        paths = iter(sorted(glob(os.path.expanduser(location), recursive=True)))
    count = size = newest = 0
    for path in paths:
        st = os.lstat(path)  # a dangling link is counted, not followed
        count, size, newest = count + 1, size + st.st_size, max(newest, st.st_mtime_ns)
    return {"kind": kind, "files": count, "bytes": size, "newest_mtime_ns": newest}


# --------------------------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------------------------


def _row(cand: Candidate, text: str, config: BuilderConfig) -> tuple[dict | None, str | None]:
    rng = random.Random(f"{config.seed}:{cand.key}")
    got = extract_snippet(text, rng, config.min_lines, config.max_lines)
    if got is None:
        return None, "blank_snippet"
    snippet, first, last = got
    return {"lang": cand.lang, "seed": snippet, "line_start": first, "line_end": last, **cand.provenance()}, None


def _reject(cand: Candidate, reason: str) -> dict:
    return {"lang": cand.lang, "reason": reason, **cand.provenance()}


def sample_bottom_k(candidates, config: BuilderConfig, counter: DropCounter, rejects: list, progress) -> dict:
    """Uniform sample of `quota` usable documents per language; memory bounded by the quotas."""
    heaps: dict[str, list] = {lang: [] for lang in config.languages}
    not_sampled = evicted = 0
    for cand in candidates:
        progress.update(1)
        quota = config.languages[cand.lang]
        heap = heaps[cand.lang]
        prio = priority(config.seed, cand.key)
        if len(heap) >= quota and (quota == 0 or prio >= -heap[0][0]):
            not_sampled += 1
            continue
        try:
            text, reason = check_document(cand.load(), config)
        except OSError:
            text, reason = None, "unreadable"
        row = None
        if text is not None:
            row, reason = _row(cand, text, config)
        if row is None:
            counter.drop(reason)
            rejects.append(_reject(cand, reason))
            continue
        entry = (-prio, cand.key, row)
        if len(heap) < quota:
            heapq.heappush(heap, entry)
        else:
            heapq.heapreplace(heap, entry)
            evicted += 1
    picked = {lang: [row for _, _, row in sorted(heap, reverse=True)] for lang, heap in heaps.items()}
    return picked, {"not_sampled": not_sampled, "evicted": evicted}


def sample_stream(config: BuilderConfig, counter: DropCounter, rejects: list, progress) -> dict:
    """Hub corpora: the first `quota` usable documents per language from a shuffled stream."""
    c = config
    groups: dict[tuple[str, str | None], list[str]] = {}
    for lang in c.languages:
        corpus = c.corpus_sources.get(lang, c.corpus)
        groups.setdefault((corpus, c.corpus_data_dirs.get(lang)), []).append(lang)
    picked: dict[str, list] = {lang: [] for lang in c.languages}
    for (corpus, data_dir), group in groups.items():
        wanted = {lang for lang in group if c.languages[lang] > 0}
        if not wanted:
            continue
        for i, row in enumerate(hub_stream(corpus, data_dir, c)):
            progress.update(1)
            if data_dir is not None:
                lang = group[0]
            else:
                raw = row_field(row, c.corpus_language_field)
                lang = langs.canonical(raw) if raw else None
            if lang not in wanted:
                continue
            text = row.get(c.corpus_text_field)
            if not isinstance(text, str):
                raise ConfigError(
                    f"{corpus}: rows have no text column {c.corpus_text_field!r}; set corpus_text_field."
                )
            provenance = {
                "source": corpus,
                "repository": row_field(row, c.corpus_repo_field),
                "path": row_field(row, c.corpus_path_field),
                "license": row_field(row, c.corpus_license_field),
            }
            cand = Candidate(
                key=f"{corpus}/{data_dir or ''}#{i}",
                lang=lang,
                load=lambda text=text: text,
                provenance=lambda p=provenance: p,
            )
            text, reason = check_document(text, c)
            row_out = None
            if text is not None:
                row_out, reason = _row(cand, text, c)
            if row_out is None:
                counter.drop(reason)
                rejects.append(_reject(cand, reason))
                continue
            picked[lang].append(row_out)
            if len(picked[lang]) >= c.languages[lang]:
                wanted.discard(lang)
                if not wanted:
                    break
    return picked


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir | None = None) -> None:
    from datasets import Dataset, Features, Value
    from tqdm.auto import tqdm

    kind, location = resolve_corpus(config)
    counter = DropCounter()
    rejects: list[dict] = []
    sampling = {}
    source = None
    with tqdm(desc=f"seeds: reading {kind} corpus", unit="doc", dynamic_ncols=True) as progress:
        if kind == "hub":
            picked = sample_stream(config, counter, rejects, progress)
        else:
            if kind in ("directory", "quickstart"):
                source = DirectorySource(Path(location), config, name="quickstart" if kind == "quickstart" else None)
            else:
                source = FilesSource(location, config)
            picked, sampling = sample_bottom_k(iter(source), config, counter, rejects, progress)
        seen = progress.n

    rows = []
    per_language = {}
    for lang, quota in config.languages.items():
        got = picked[lang]
        per_language[lang] = {"requested": quota, "selected": len(got)}
        if len(got) < quota:
            logger.warning("seeds: only %d usable %s documents for a quota of %d", len(got), lang, quota)
        rows.extend(got)
    if not rows and any(config.languages.values()):
        raise ConfigError(
            f"The {kind} corpus {location!r} has no usable documents for {sorted(config.languages)} "
            f"(skipped: {counter.summary()}; {dict(source.skipped) if source else {}}). Check `corpus` and "
            "`languages`, and the size/line-length limits."
        )
    for i, row in enumerate(rows):
        row["raw_index"] = i
        counter.keep()
    if warning := licenses.warning(licenses.tally(row["license"] for row in rows), unit="seeds"):
        logger.warning("seeds: %s", warning)

    features = Features(
        {
            "raw_index": Value("int64"),
            "lang": Value("string"),
            "seed": Value("string"),
            "source": Value("string"),
            "repository": Value("string"),
            "path": Value("string"),
            "line_start": Value("int64"),
            "line_end": Value("int64"),
            "license": Value("string"),
        }
    )
    dataset = Dataset.from_dict({k: [r[k] for r in rows] for k in SEED_COLUMNS}, features=features)
    reject_features = Features({k: Value("string") for k in REJECT_COLUMNS})
    rejects_ds = Dataset.from_dict({k: [r[k] for r in rejects] for k in REJECT_COLUMNS}, features=reject_features)
    skipped = dict(source.skipped) if source is not None else {}
    counter.rows_in = seen
    run_dir.save(
        dataset,
        rejects_ds,
        counter,
        corpus={"kind": kind, "location": location},
        # seen = kept + dropped + not_sampled (could not make the sample) + evicted (pushed out by a better one)
        documents=counter.as_dict() | sampling | {"seen": seen, "skipped_before_reading": skipped},
        per_language=per_language,
    )
    logger.info("seeds: %s; %d seeds -> %s", counter.summary(), len(dataset), run_dir.dataset_path)


class Seeds(Stage):
    """Samples one snippet per document of the corpus, per language quota."""

    name = "seeds"
    version = 1
    run = staticmethod(run)

    def fingerprint_inputs(self, config: BuilderConfig) -> dict:
        return super().fingerprint_inputs(config) | {"corpus_signature": corpus_signature(config)}

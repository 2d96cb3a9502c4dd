"""Corpus readers for the seeds stage: where a recipe's corpus is, and its documents as `Candidate`s.

A local folder (a git checkout lists its tracked files) or the bundled quickstart corpus: `DirectorySource`; local
.jsonl/.json/.parquet files: `FilesSource`; a Hub dataset: `hub_stream`, a shuffled stream. A candidate's content and
provenance are read only when asked for, so a sampler can skip documents without opening them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from glob import glob
from pathlib import Path

from dataset_builder import languages as langs
from dataset_builder import licenses
from dataset_builder.config import BuilderConfig, ConfigError

logger = logging.getLogger(__name__)

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}


@dataclass
class Candidate:
    key: str  # stable, unique id of the document within the corpus
    lang: str
    load: Callable[[], str | bytes]  # the content; called only if the document can make the sample (may raise OSError)
    provenance: Callable[[], dict]  # source, repository, path, license; asked only of documents that were read


def resolve_corpus(config: BuilderConfig) -> tuple[str, str]:
    """(kind, location) for the recipe's corpus."""
    kind, corpus = config.corpus_type, config.corpus
    if kind == "quickstart" or (kind == "auto" and corpus == "quickstart"):
        bundled = Path(__file__).parent / "corpus" / "quickstart"
        if not bundled.is_dir():
            raise ConfigError(f"The bundled corpus is missing from {bundled}: reinstall the package.")
        return "quickstart", str(bundled)
    path = Path(os.path.expanduser(corpus))
    if kind == "auto":
        if path.is_dir():
            kind = "directory"
        elif path.is_file() or glob(os.path.expanduser(corpus), recursive=True):
            kind = "files"
        elif re.fullmatch(r"[\w.-]+/[\w.-]+", corpus) and not corpus.startswith((".", "/")):
            kind = "hub"
        else:
            raise ConfigError(
                f"corpus {corpus!r} is neither an existing folder or file nor a Hub dataset id (org/name). "
                "Fix the path, or set corpus_type."
            )
    if kind == "directory" and not path.is_dir():
        raise ConfigError(f"corpus {corpus!r} is not a folder.")
    return kind, str(path) if kind in ("directory",) else corpus


class DirectorySource:
    """Files under a folder (a git checkout lists its tracked files); language from the extension.

    Licence: the `license` of the file's entry in a `MANIFEST.jsonl` at the root if there is one, else the nearest
    licence file or installed package's metadata above the file (`dataset_builder.licenses`), looked up to the root
    of the git checkout that holds the folder, else to the folder itself.
    """

    def __init__(self, root: Path, config: BuilderConfig, name: str | None = None):
        self.root = root
        self.config = config
        self.name = name or str(root)
        self.wanted = frozenset(config.languages)
        self.manifest = self._read_manifest()
        self.skipped = Counter()
        self.top = next((p for p in (root, *root.parents) if (p / ".git").exists()), root)

    def _read_manifest(self) -> dict[str, dict]:
        path = self.root / "MANIFEST.jsonl"
        if not path.exists():
            return {}
        with open(path) as f:
            return {row["path"]: row for row in map(json.loads, f) if "path" in row}

    def _git_files(self) -> Iterator[str] | None:
        """The checkout's tracked files, streamed from `git ls-files -z`; None if git cannot list them."""
        try:
            proc = subprocess.Popen(
                ["git", "-C", str(self.root), "ls-files", "-z"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except OSError as err:
            logger.warning("cannot run git in %s (%s): walking the folder instead", self.root, err)
            return None
        first = proc.stdout.read(1 << 16)
        if not first and proc.wait() != 0:
            logger.warning("`git ls-files` failed in %s: walking the folder instead", self.root)
            return None

        def stream(chunk: bytes) -> Iterator[str]:
            rest = b""
            while chunk:
                *names, rest = (rest + chunk).split(b"\0")
                yield from (name.decode("utf-8", "surrogateescape") for name in names if name)
                chunk = proc.stdout.read(1 << 16)
            if proc.wait() != 0:
                raise ConfigError(f"`git ls-files` failed in {self.root}: {proc.stderr.read().decode()[:500]}")

        return stream(first)

    def _paths(self) -> Iterator[str]:
        if (self.root / ".git").exists() and (files := self._git_files()) is not None:
            yield from files
            return
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            rel = os.path.relpath(dirpath, self.root)
            for name in sorted(filenames):
                yield name if rel == "." else f"{rel}/{name}"

    @lru_cache(maxsize=65_536)  # noqa: B019 - one source object per run; the licence lookup per folder
    def _license_at(self, folder: Path) -> str | None:
        found = licenses.license_in_folder(folder) or licenses.package_license(folder)
        if found or folder in (self.top, folder.parent) or licenses.is_site_dir(folder):
            return found
        return self._license_at(folder.parent)

    def __iter__(self) -> Iterator[Candidate]:
        for rel in self._paths():
            lang = langs.from_path(rel, self.wanted, self.config.extension_languages)
            if lang is None:
                self.skipped["unknown_extension"] += 1
                continue
            if lang not in self.wanted:
                self.skipped["language_not_requested"] += 1
                continue
            yield Candidate(
                key=rel, lang=lang, load=partial(self._read, rel), provenance=partial(self._provenance, rel)
            )

    def _read(self, rel: str) -> bytes:
        """At most max_file_bytes + 1 bytes: enough to tell that a file is too large without reading it all."""
        with open(os.path.join(self.root, rel), "rb") as f:
            return f.read(self.config.max_file_bytes + 1)

    def _provenance(self, rel: str) -> dict:
        entry = self.manifest.get(rel, {})
        return {
            "source": entry.get("source") or self.name,
            "repository": entry.get("repository"),
            "path": rel,
            "license": entry.get("license") or self._license_at((self.root / rel).parent),
        }


def row_field(row: dict, name: str):
    value = row.get(name) if name else None
    if isinstance(value, list):  # e.g. the-stack's max_stars_repo_licenses
        value = ",".join(map(str, value)) or None
    return value


class FilesSource:
    """Rows of local .jsonl/.json/.parquet files, streamed with `datasets`."""

    def __init__(self, pattern: str, config: BuilderConfig):
        self.files = sorted(glob(os.path.expanduser(pattern), recursive=True))
        if not self.files:
            raise ConfigError(f"corpus {pattern!r}: no file matches; give a folder, a .jsonl/.parquet file or a glob.")
        suffixes = {Path(f).suffix.lower() for f in self.files}
        if suffixes <= {".jsonl", ".json"}:
            self.builder = "json"
        elif suffixes == {".parquet"}:
            self.builder = "parquet"
        else:
            raise ConfigError(
                f"corpus {pattern!r} mixes or holds unsupported files ({sorted(suffixes)}): "
                "use .jsonl/.json or .parquet."
            )
        self.config = config
        self.wanted = frozenset(config.languages)
        self.skipped = Counter()

    def __iter__(self) -> Iterator[Candidate]:
        from datasets import load_dataset

        c = self.config
        stream = load_dataset(self.builder, data_files=self.files, split="train", streaming=True)
        for i, row in enumerate(stream):
            text = row.get(c.corpus_text_field)
            if not isinstance(text, str):
                raise ConfigError(
                    f"corpus rows need a text column {c.corpus_text_field!r} (found {sorted(row)}): "
                    "set corpus_text_field."
                )
            path = row_field(row, c.corpus_path_field) or row_field(row, "path")
            lang = row_field(row, c.corpus_language_field)
            if lang:
                lang = langs.canonical(lang)
            else:
                lang = langs.from_path(path, self.wanted, c.extension_languages) if path else None
            if lang is None:
                self.skipped["unknown_language"] += 1
                continue
            if lang not in self.wanted:
                self.skipped["language_not_requested"] += 1
                continue
            yield Candidate(
                key=f"row{i}", lang=lang, load=lambda text=text: text, provenance=self._provenance(row, path)
            )

    def _provenance(self, row: dict, path: str | None) -> Callable[[], dict]:
        source = self.files[0] if len(self.files) == 1 else os.path.commonpath(self.files)
        c = self.config
        return lambda: {
            "source": source,
            "repository": row_field(row, c.corpus_repo_field),
            "path": path,
            "license": row_field(row, c.corpus_license_field),
        }


def hub_stream(corpus: str, data_dir: str | None, config: BuilderConfig):
    from datasets import load_dataset

    try:
        stream = load_dataset(
            corpus, data_dir=data_dir, split=config.corpus_split, streaming=True, revision=config.corpus_revision
        )
    except Exception as err:
        raise ConfigError(
            f"Cannot stream Hub corpus {corpus!r} (data_dir={data_dir!r}): {err}. Check the id, `corpus_data_dirs`, "
            "that you accepted the dataset's terms on the Hub, and that you are logged in (`hf auth login`)."
        ) from err
    return stream.shuffle(seed=config.seed, buffer_size=config.corpus_shuffle_buffer)

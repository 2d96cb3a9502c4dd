"""Run folders: every stage writes under `output_dir/<stage>/<fingerprint>/`.

A run folder holds `dataset/` (the kept rows, `save_to_disk`), `rejects/` (dropped rows with a `reason` column),
`config.json` (the recipe and the fingerprint inputs) and, written last and atomically, `stats.json`: `rows_in`,
`kept` and `dropped` ({reason: rows}) for every stage, then the stage's own entries. A folder with `stats.json` is
complete and running its stage again is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dataset_builder import __version__

logger = logging.getLogger(__name__)


def fingerprint(stage: str, version: int, inputs: dict, upstream: str | None) -> str:
    """The run folder name of a stage: a hash of its name, version, inputs and upstream's fingerprint."""
    payload = json.dumps(
        {"stage": stage, "version": version, "inputs": inputs, "upstream": upstream},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class DropCounter:
    """Counts rows kept and dropped per reason, like datatrove's filter stats; every stage's stats.json starts with
    them (`RunDir.save`)."""

    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    rows_in: int | None = None  # rows read, when it is not kept + dropped (seeds: documents that missed the sample)

    @classmethod
    def of_reasons(cls, reasons: Iterable[str | None]) -> DropCounter:
        """The counts of one reason per row, None for a kept row."""
        counter = cls()
        for reason in reasons:
            if reason is None:
                counter.keep()
            else:
                counter.drop(reason)
        return counter

    def keep(self) -> None:
        self.kept += 1

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def as_dict(self) -> dict:
        return {"kept": self.kept, "dropped": dict(sorted(self.dropped.items()))}

    def counts(self) -> dict:
        """`rows_in`, `kept` and `dropped` ({reason: rows}): the top of every stage's stats.json."""
        rows_in = self.kept + sum(self.dropped.values()) if self.rows_in is None else self.rows_in
        return {"rows_in": rows_in, **self.as_dict()}

    def summary(self) -> str:
        drops = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped.items())) or "none"
        return f"kept {self.kept}, dropped {sum(self.dropped.values())} ({drops})"


def with_index(dataset):
    """The rows with an `index` column 0..n-1 (arrow cannot add a column to an empty table: build that one)."""
    from datasets import Dataset, Value

    if len(dataset):
        return dataset.add_column("index", list(range(len(dataset))))
    features = dataset.features.copy()
    features["index"] = Value("int64")
    return Dataset.from_dict({name: [] for name in features}, features=features)


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class RunDir:
    def __init__(self, output_dir: str | Path, stage: str, fp: str):
        self.stage = stage
        self.fingerprint = fp
        self.path = Path(output_dir).expanduser().resolve() / stage / fp

    @property
    def dataset_path(self) -> Path:
        return self.path / "dataset"

    @property
    def rejects_path(self) -> Path:
        return self.path / "rejects"

    @property
    def stats_path(self) -> Path:
        return self.path / "stats.json"

    def is_complete(self) -> bool:
        return self.stats_path.exists()

    def stats(self) -> dict:
        return json.loads(self.stats_path.read_text())

    def prepare(self, config: dict, inputs: dict, upstream: RunDir | None) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            self.path / "config.json",
            {
                "stage": self.stage,
                "fingerprint": self.fingerprint,
                "fingerprint_inputs": inputs,
                "upstream": str(upstream.path) if upstream else None,
                "dataset_builder_version": __version__,
                "recipe": config,
            },
        )

    def save(self, dataset, rejects, counts: DropCounter, **extras) -> None:
        """Write kept and rejected rows, then mark the run complete with stats.json: the counts, then the stage's own
        `extras` under their own keys."""
        stats = counts.counts()
        if stats.keys() & extras.keys():
            raise ValueError(f"stage stats {sorted(stats.keys() & extras.keys())} would overwrite the counts")
        for ds, target in ((dataset, self.dataset_path), (rejects, self.rejects_path)):
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            # an empty dataset saved as 0 shards cannot be loaded back: give it one
            ds.save_to_disk(str(tmp), num_shards=1 if len(ds) == 0 else None)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        write_json_atomic(self.stats_path, stats | extras)

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        path = Path(path)
        return cls(path.parents[1], path.parent.name, path.name)

    def config(self) -> dict:
        """config.json: the recipe, the fingerprint inputs and the upstream run folder."""
        return json.loads((self.path / "config.json").read_text())

    def upstream(self) -> RunDir | None:
        """The run folder this one was made from (recorded in config.json), or None for a first stage."""
        recorded = self.config().get("upstream")
        return RunDir.at(recorded) if recorded else None

    def lineage(self) -> list[RunDir]:
        """Every run folder from the first stage to this one."""
        chain, run = [], self
        while run is not None:
            chain.append(run)
            run = run.upstream()
        return chain[::-1]

    def summary(self) -> str:
        """One line of counts for this stage: rows kept, rows dropped per reason."""
        from datasets import load_from_disk

        kept = len(self.load())
        rejects = load_from_disk(str(self.rejects_path)) if self.rejects_path.exists() else None
        dropped = rejects["reason"] if rejects is not None and "reason" in rejects.column_names else []
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(Counter(dropped).items()))
        return f"{self.stage:<14} {kept:>8} rows" + (f"   dropped {len(dropped)}: {reasons}" if dropped else "")

    def load(self):
        from datasets import load_from_disk

        return load_from_disk(str(self.dataset_path))

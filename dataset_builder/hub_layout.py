"""The dataset folder `publish` writes in Hub layout: its file names, Parquet shards per config and content hash."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

HUB_FOLDER = "hub"
BUILD_FILE = "build.json"
MAX_SHARD_BYTES = 500 << 20


def content_hash(dataset) -> str:
    """sha256 of the features and every row, independent of the Parquet writer's version."""
    digest = hashlib.sha256(json.dumps(dataset.features.to_dict(), sort_keys=True).encode())
    for batch in dataset.iter(batch_size=1_000):
        digest.update(json.dumps(batch, sort_keys=True, ensure_ascii=False, default=str).encode())
    return digest.hexdigest()


def write_shards(dataset, folder: Path) -> int:
    """`train-*.parquet` files of at most about `MAX_SHARD_BYTES` each in a new `folder`; returns how many."""
    folder.mkdir(parents=True)
    # a filtered dataset shares its parent's table: scale the table's size to the rows it keeps
    nbytes = dataset.data.nbytes * len(dataset) / max(1, dataset.data.num_rows)
    n = max(1, min(len(dataset), math.ceil(nbytes / MAX_SHARD_BYTES)))
    for i in range(n):
        shard = dataset.shard(n, i, contiguous=True)
        shard.to_parquet(str(folder / f"train-{i:05d}-of-{n:05d}.parquet"))
    return n

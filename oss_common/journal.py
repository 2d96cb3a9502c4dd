"""Append-only JSONL journal: the crash-safe store of the builder's teacher answers, generate.py's file mode and
eval's raw completions.

Each finished request is one line, written and flushed as it arrives, so a `kill -9` loses at most the line being
written; `open()` drops such a torn last line. A row is keyed by `raw_index` (or the `key` given), stored at most once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: str | Path, fsync_interval: float = 5.0, key: str = "raw_index"):
        self.path = Path(path)
        self.fsync_interval = fsync_interval
        self.key = key  # the column that identifies a row
        self.done: set[int] = set()
        self._file = None
        self._last_sync = 0.0

    def open(self) -> Journal:
        """Read what is stored, cut a torn last line, and open for appending."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        good_bytes = 0
        if self.path.exists():
            with open(self.path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        break
                    if not isinstance(row, dict) or self.key not in row:
                        raise ValueError(f"{self.path} has a line without {self.key!r}")
                    self.done.add(row[self.key])
                    good_bytes += len(line)
            size = self.path.stat().st_size
            if size != good_bytes:
                logger.warning("journal %s: dropping %d bytes of a torn last line", self.path, size - good_bytes)
                with open(self.path, "r+b") as f:
                    f.truncate(good_bytes)
        self._file = open(self.path, "a", encoding="utf-8")
        return self

    def append(self, row: dict) -> None:
        index = row[self.key]
        if index in self.done:
            return
        self._file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self._file.flush()
        self.done.add(index)
        now = time.monotonic()
        if now - self._last_sync >= self.fsync_interval:
            os.fsync(self._file.fileno())
            self._last_sync = now

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def rows(self):
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)

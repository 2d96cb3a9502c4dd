"""The stage contract: what the pipeline (`pipeline.py`) asks of every stage.

A stage reads its upstream's run folder (none for a first stage) and writes its own: kept rows, rejected rows with a
`reason`, and the counts (`RunDir.save`). The folder is named by a fingerprint of the stage's `name`, `version`,
`fingerprint_inputs` and its upstream's fingerprint. A new stage subclasses `Stage`, is registered in
`pipeline.STAGES` and placed in a chain of `pipeline.CHAINS`; its module imports nothing heavy at import time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from dataset_builder.config import BuilderConfig, fingerprint_fields
from dataset_builder.runs import RunDir


class Stage(ABC):
    name: ClassVar[str]
    # Bump when the stage's code changes what it writes: run folders of the old version are then not reused.
    version: ClassVar[int]

    def fingerprint_inputs(self, config: BuilderConfig) -> dict:
        """What determines the stage's output: the recipe fields marked for it (`BuilderConfig` field metadata)."""
        return fingerprint_fields(config, self.name)

    @abstractmethod
    def run(self, config: BuilderConfig, run_dir: RunDir, upstream: RunDir | None) -> None:
        """Make the stage's rows from `upstream`'s into `run_dir`, finishing with `run_dir.save`."""

    def reached(self, config: BuilderConfig, run_dir: RunDir) -> None:  # noqa: B027 - a hook: most stages need none
        """Runs each time the pipeline reaches the stage, after `run` or when its run folder was already complete."""

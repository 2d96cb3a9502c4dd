"""The builder's recipe: one dataclass, read from YAML with CLI overrides (see `cli.py`).

Every field that changes what a stage writes is part of that stage's fingerprint, marked in its metadata (`_help(text,
*stages)`); a stage may add derived inputs (`Stage.fingerprint_inputs`). Fields that only change how fast or where it
runs (concurrency, timeouts, endpoint) are recorded but not hashed, so a run can be resumed against another server or
with more concurrency.

The fields live by group, one module each: `config_sources` (pipeline, corpus and seeds, the Evol-Instruct and
verify datasets), `config_teacher`, `config_execution` (tests and execute: execution verification) and
`config_dataset` (clean, decontaminate, analyze, publish, output). `config_base` holds what they share;
`config_checks` checks a recipe when it is made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dataset_builder.config_base import (
    FINGERPRINT,
    FINGERPRINTED_WHEN_SET,
    PAPER_LANGUAGES,
    ConfigError,
    fingerprint_fields,
    redact_url,
)
from dataset_builder.config_checks import validate
from dataset_builder.config_dataset import DatasetFields
from dataset_builder.config_execution import ExecutionFields
from dataset_builder.config_sources import SourceFields
from dataset_builder.config_teacher import TeacherFields

__all__ = [
    "FINGERPRINT",
    "FINGERPRINTED_WHEN_SET",
    "PAPER_LANGUAGES",
    "BuilderConfig",
    "ConfigError",
    "fingerprint_fields",
    "redact_url",
]


# A dataclass lists its bases' fields last base first: sources, teacher, execution, then the dataset's (`--help`).
@dataclass
class BuilderConfig(DatasetFields, ExecutionFields, TeacherFields, SourceFields):
    """The whole recipe; its fields are those of the groups above."""

    def __post_init__(self):
        validate(self)

    def to_dict(self) -> dict:
        """The recipe as saved next to outputs: secrets never live here, credentials in URLs are redacted."""
        data = dataclasses.asdict(self)
        data["teacher_base_url"] = redact_url(self.teacher_base_url)
        return data

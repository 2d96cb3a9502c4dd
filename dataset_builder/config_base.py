"""What every part of the recipe shares: its error, the fingerprint marks of its fields and how they are read back,
the paper's languages, and URL redaction. Imports only the standard library."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit, urlunsplit

PAPER_LANGUAGES = {
    "python": 40_000,
    "cpp": 5_000,
    "java": 5_000,
    "typescript": 5_000,
    "shell": 5_000,
    "csharp": 5_000,
    "rust": 5_000,
    "php": 5_000,
    "swift": 5_000,
}


# Field metadata key: the stages whose fingerprint a field is part of (argparse never sees it, see cli.make_parser).
FINGERPRINT = "fingerprint"


class ConfigError(ValueError):
    """A recipe that cannot run; the message names the field and the fix."""


def _help(text: str, *stages: str) -> dict:
    """A field's metadata: its `--help` text and the stages whose fingerprint it is part of."""
    return {"help": text, FINGERPRINT: stages} if stages else {"help": text}


# Fields that joined a stage's fingerprint after run folders had been named: they count only when set, so a recipe
# that leaves them at their default keeps its run folders.
FINGERPRINTED_WHEN_SET = frozenset(
    {
        "extension_languages",
        "mutants_per_row",
        "min_mutation_score",
        "tests_from",
        "diverse_threshold",
        "preference_pairs_per_problem",
    }
)


def fingerprint_fields(config, stage: str) -> dict:
    """{field: value} of the fields of `config` (a recipe dataclass) marked as part of `stage`'s fingerprint."""
    values = {}
    for f in dataclasses.fields(config):
        if stage not in f.metadata.get(FINGERPRINT, ()):
            continue
        value = getattr(config, f.name)
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        if f.name not in FINGERPRINTED_WHEN_SET or value != default:
            values[f.name] = value
    return values


def redact_url(url: str | None) -> str | None:
    """Drop `user:password@` from a URL so it can be logged or saved."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"***@{host}")
    return urlunsplit(parts)

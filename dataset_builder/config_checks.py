"""The checks a recipe passes when it is made (`BuilderConfig.__post_init__`): each failure is a `ConfigError` that
names the field and the fix. They take the recipe as an argument and import nothing of `config.py`, which imports
them."""

from __future__ import annotations

import dataclasses
import re
import types
import typing

from dataset_builder import languages as langs
from dataset_builder.config_base import ConfigError
from oss_common.parsing import did_you_mean, missing_space

# the pipelines of pipeline.CHAINS (named here: pipeline.py imports every stage)
PIPELINES = ("oss_instruct", "oss_instruct_verified", "evol_instruct", "direct", "verify")


def validate(config) -> None:
    """Check every field of `config` (a `BuilderConfig`); normalise `languages` and `extension_languages`."""
    check_types(config)
    if not config.languages:
        raise ConfigError("`languages` is empty: give at least one language -> count, e.g. {python: 100}.")
    fix = missing_space(config.languages)
    if fix:
        raise ConfigError(f"`languages`: {fix}.")
    for lang, count in config.languages.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ConfigError(f"`languages.{lang}` must be a non-negative integer, got {count!r}.")
    config.languages = {str(k).lower(): v for k, v in config.languages.items()}
    check_languages(config)
    try:
        config.extension_languages = langs.extension_overrides(config.extension_languages)
    except ValueError as err:
        raise ConfigError(f"`extension_languages`: {err}.") from err
    if not 1 <= config.min_lines <= config.max_lines:
        raise ConfigError(f"Need 1 <= min_lines <= max_lines, got {config.min_lines} and {config.max_lines}.")
    if config.corpus_type not in {"auto", "quickstart", "hub", "directory", "files"}:
        raise ConfigError(f"Unknown corpus_type {config.corpus_type!r}: use auto, quickstart, hub, directory, files.")
    if config.pipeline not in PIPELINES:
        raise ConfigError(f"Unknown pipeline {config.pipeline!r}: use {', '.join(PIPELINES)}.")
    if config.sandbox not in {"bwrap", "none"}:
        raise ConfigError(f"Unknown sandbox {config.sandbox!r}: use bwrap (bubblewrap) or none (no isolation).")
    if config.typescript_typecheck not in {"strict", "report"}:
        raise ConfigError(
            f"Unknown typescript_typecheck {config.typescript_typecheck!r}: use strict (type errors fail the row) or "
            "report (type errors are printed and the JavaScript runs)."
        )
    check_samples(config)
    for name in ("exec_timeout", "exec_compile_timeout", "exec_memory_mb", "tests_max_tokens"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"`{name}` must be > 0, got {getattr(config, name)}.")
    if config.exec_workers is not None and config.exec_workers < 1:
        raise ConfigError(f"`exec_workers` must be >= 1 (or unset: one per core), got {config.exec_workers}.")
    check_mutation(config)
    if config.verify_max_rows is not None and config.verify_max_rows < 1:
        raise ConfigError(f"`verify_max_rows` must be >= 1 (or unset: every row), got {config.verify_max_rows}.")
    if config.teacher_backend not in {"openai", "openai_batch", "vllm"}:
        raise ConfigError(f"Unknown teacher_backend {config.teacher_backend!r}: use openai, openai_batch or vllm.")
    if not config.teacher_model and not config.local_teacher:
        raise ConfigError("No teacher: set `teacher_model` (e.g. gpt-3.5-turbo-1106) or `local_teacher: true`.")
    unknown = set(config.variants) - {"python", "non_python", "no_noisy"}
    if unknown:
        raise ConfigError(f"Unknown variants {sorted(unknown)}: use python, non_python, no_noisy.")
    if not re.fullmatch(r"\d+\.\d+\.\d+", config.dataset_version):
        raise ConfigError(f"`dataset_version` must look like 1.2.3, got {config.dataset_version!r}.")
    if config.push_to_hub and not re.fullmatch(r"[\w.-]+/[\w.-]+", config.push_to_hub):
        raise ConfigError(f"`push_to_hub` must be a repo id like org/name, got {config.push_to_hub!r}.")
    if config.decontamination_ngram is not None and config.decontamination_ngram < 1:
        raise ConfigError(f"`decontamination_ngram` must be >= 1 (e.g. 13), got {config.decontamination_ngram}.")
    if config.concurrency < 1:
        raise ConfigError(f"`concurrency` must be >= 1, got {config.concurrency}.")
    if config.max_tokens < 1:
        raise ConfigError(f"`max_tokens` must be >= 1, got {config.max_tokens}.")
    if config.max_retries < 0:
        raise ConfigError(f"`max_retries` must be >= 0, got {config.max_retries}.")


def check_languages(config) -> None:
    """Every language is one the builder knows (or one the recipe maps to a data_dir or corpus of its own)."""
    known = set(langs.EXTENSIONS.values())
    mapped = {str(k).lower() for k in (*config.corpus_data_dirs, *config.corpus_sources)}
    for lang in config.languages:
        if langs.canonical(lang) not in known and lang not in mapped:
            raise ConfigError(
                f"Unknown language {lang!r} in `languages`{did_you_mean(lang, known | set(langs.ALIASES))}; "
                f"known: {', '.join(sorted(known))} (or map it in `corpus_data_dirs` or `corpus_sources`)."
            )


def check_types(obj) -> None:
    """YAML values bypass argparse's conversion: check each field against its annotation."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        expected = hints[f.name]
        allowed = expected.__args__ if isinstance(expected, types.UnionType) else (expected,)
        allowed = tuple(typing.get_origin(t) or t for t in allowed)
        if float in allowed and isinstance(value, int) and not isinstance(value, bool):
            setattr(obj, f.name, float(value))
            continue
        if bool not in allowed and isinstance(value, bool):
            ok = False
        else:
            ok = isinstance(value, allowed)
        if not ok:
            names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise ConfigError(f"Recipe field `{f.name}` must be {names}, got {value!r} ({type(value).__name__}).")


def check_mutation(config) -> None:
    """`mutants_per_row` and `min_mutation_score` (the execute stage's test-strength score)."""
    if config.mutants_per_row < 0:
        raise ConfigError(f"`mutants_per_row` must be >= 0 (0: no mutation score), got {config.mutants_per_row}.")
    score = config.min_mutation_score
    if score is None:
        return
    if not 0 <= score <= 1:
        raise ConfigError(f"`min_mutation_score` is a share of killed mutants, from 0 to 1; got {score}.")
    if config.mutants_per_row == 0:
        raise ConfigError(
            f"`min_mutation_score: {score}` needs mutants to score the tests: set `mutants_per_row` (e.g. 5)."
        )


SAMPLES_MAX = 100  # solutions per problem; the teacher's journal key of a sample is raw_index * 1000 + sample


def check_samples(config) -> None:
    """`verify_keep`, `solutions_per_problem`, `solutions_temperature`, `tests_from`, `diverse_threshold`."""
    if config.verify_keep not in {"passed", "all", "best", "diverse"}:
        raise ConfigError(f"Unknown verify_keep {config.verify_keep!r}: use passed, all, best or diverse.")
    n = config.solutions_per_problem
    if not 1 <= n <= SAMPLES_MAX:
        raise ConfigError(f"`solutions_per_problem` must be from 1 to {SAMPLES_MAX} (1: one solution), got {n}.")
    if config.verify_keep in {"best", "diverse"} and n == 1:
        raise ConfigError(
            f"`verify_keep: {config.verify_keep}` chooses among several solutions per problem: set "
            "`solutions_per_problem` (e.g. 10), or use verify_keep: passed."
        )
    if not 0 <= config.solutions_temperature <= 2:
        raise ConfigError(f"`solutions_temperature` must be from 0 to 2, got {config.solutions_temperature}.")
    if config.tests_from not in {"solution", "problem"}:
        raise ConfigError(
            f"Unknown tests_from {config.tests_from!r}: use solution (tests written from the problem and its first "
            "solution) or problem (from the problem alone)."
        )
    if config.preference_pairs_per_problem < 0:
        raise ConfigError(
            f"`preference_pairs_per_problem` must be >= 0 (0: no preference config), got "
            f"{config.preference_pairs_per_problem}."
        )
    if not 0 < config.diverse_threshold <= 1:
        raise ConfigError(f"`diverse_threshold` is a Jaccard similarity, in (0, 1]; got {config.diverse_threshold}.")

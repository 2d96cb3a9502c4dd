"""Recipe fields: where the rows come from (the pipeline; the corpus and its seeds; the Evol-Instruct dataset; the
dataset the verify pipeline reads)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataset_builder.config_base import PAPER_LANGUAGES, _help


@dataclass
class SourceFields:
    pipeline: str = field(
        default="oss_instruct",
        metadata=_help(
            "Chain of stages: oss_instruct (seeds -> generate -> parse -> clean -> decontaminate -> analyze -> "
            "publish), oss_instruct_verified (the same with tests -> execute after parse: the teacher writes tests, "
            "they run in a sandbox), evol_instruct (evol -> decontaminate -> publish), direct (seeds -> pairs -> "
            "decontaminate -> publish) or verify (source -> tests -> execute -> decontaminate -> publish: an existing "
            "dataset, `verify_dataset`)."
        ),
    )

    # --- corpus and seeds -------------------------------------------------------------------------------------
    corpus: str = field(
        default="quickstart",
        metadata=_help(
            "Where seed documents come from: 'quickstart' (the bundled corpus), a Hub dataset id (streamed), a local "
            "directory or git checkout, or local .jsonl/.json/.parquet files (a path or glob).",
            "seeds",
        ),
    )
    corpus_type: str = field(
        default="auto",
        metadata=_help("One of auto, quickstart, hub, directory, files. 'auto' decides from `corpus`.", "seeds"),
    )
    corpus_revision: str | None = field(
        default=None, metadata=_help("Hub revision of the corpus (default: main).", "seeds")
    )
    corpus_split: str = field(default="train", metadata=_help("Split of a Hub or file corpus.", "seeds"))
    corpus_data_dirs: dict = field(
        default_factory=dict,
        metadata=_help("Hub corpora: language -> data_dir, e.g. {python: python} for bigcode/starcoderdata.", "seeds"),
    )
    corpus_sources: dict = field(
        default_factory=dict,
        metadata=_help("Language -> another corpus for that language, e.g. {swift: bigcode/the-stack}.", "seeds"),
    )
    corpus_text_field: str = field(default="content", metadata=_help("Column that holds a document's text.", "seeds"))
    corpus_language_field: str = field(
        default="lang", metadata=_help("Column that holds a document's language (when no data_dir says it).", "seeds")
    )
    corpus_path_field: str = field(
        default="max_stars_repo_path", metadata=_help("Column with the file path.", "seeds")
    )
    corpus_repo_field: str = field(
        default="max_stars_repo_name", metadata=_help("Column with the repository.", "seeds")
    )
    corpus_license_field: str = field(
        default="max_stars_repo_licenses", metadata=_help("Column with licences.", "seeds")
    )
    corpus_shuffle_buffer: int = field(
        default=10_000, metadata=_help("Shuffle buffer of a streamed Hub corpus (documents held in memory).", "seeds")
    )
    languages: dict = field(
        default_factory=lambda: dict(PAPER_LANGUAGES),
        metadata=_help(
            "Language -> number of seeds, e.g. {python: 40000, rust: 5000}. CLI: a YAML/JSON mapping.", "seeds"
        ),
    )
    extension_languages: dict = field(
        default_factory=dict,
        metadata=_help(
            "File extension -> language of a local corpus, over the built-in table, e.g. {h: cpp} for C++ headers "
            "(by default .h is C, or C++ when only cpp is requested). CLI: a YAML/JSON mapping.",
            "seeds",
        ),
    )
    min_lines: int = field(default=1, metadata=_help("Fewest lines in a seed snippet.", "seeds"))
    max_lines: int = field(default=15, metadata=_help("Most lines in a seed snippet.", "seeds"))
    seed: int = field(
        default=976,
        metadata=_help(
            "Base seed: snippet sampling and the API seed (seed + raw_index) per row.",
            "seeds",
            "generate",
            "analyze",
            "tests",
        ),
    )
    max_file_bytes: int = field(default=1_000_000, metadata=_help("Skip documents larger than this.", "seeds"))
    max_line_length: int = field(default=1_000, metadata=_help("Skip documents with a longer line.", "seeds"))
    max_mean_line_length: float = field(
        default=100.0, metadata=_help("Skip documents (minified) above this.", "seeds")
    )
    skip_generated: bool = field(default=True, metadata=_help("Skip documents marked as generated code.", "seeds"))

    # --- evol-instruct (pipeline: evol_instruct) ----------------------------------------------------------------
    evol_dataset: str = field(
        default="theblackcat102/evol-codealpaca-v1",
        metadata=_help("Hub dataset id or local .jsonl/.parquet file of the Evol-Instruct data.", "evol"),
    )
    evol_revision: str | None = field(
        default=None, metadata=_help("Hub revision of evol_dataset (default: main).", "evol")
    )
    evol_split: str = field(default="train", metadata=_help("Split of evol_dataset.", "evol"))
    evol_instruction_field: str = field(
        default="instruction", metadata=_help("Column mapped to `instruction`.", "evol")
    )
    evol_response_field: str = field(default="output", metadata=_help("Column mapped to `response`.", "evol"))

    # --- the dataset to verify (pipeline: verify) -----------------------------------------------------------------
    verify_dataset: str | None = field(
        default=None,
        metadata=_help(
            "verify pipeline: the dataset to verify, a Hub id (e.g. ise-uiuc/Magicoder-OSS-Instruct-75K) or a local "
            ".jsonl/.json/.parquet file or save_to_disk folder, with columns problem/solution/lang or "
            "instruction/response (the language taken from the response's code fence).",
            "source",
        ),
    )
    verify_revision: str | None = field(
        default=None, metadata=_help("Hub revision of verify_dataset (default: main).", "source")
    )
    verify_split: str = field(default="train", metadata=_help("Split of verify_dataset.", "source"))
    verify_max_rows: int | None = field(
        default=None,
        metadata=_help("Verify a seeded random sample of this many rows of verify_dataset (default: all).", "source"),
    )

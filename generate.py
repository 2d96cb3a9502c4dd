"""Generate with a trained model (or any chat model): one prompt, a JSONL file or dataset, or a chat in the terminal.

    python generate.py --model_name_or_path out/magicoder-cl-7b --prompt "Write a function that reverses a list."
    python generate.py --model_name_or_path out/magicoder-cl-7b --input_file prompts.jsonl --output_file out.jsonl
    python generate.py --model_name_or_path out/magicoder-cl-7b --chat
    python generate.py --backend openai --base_url http://127.0.0.1:8000/v1 --model_name_or_path NAME --prompt "..."
    python generate.py --config my_generation.yaml --temperature 0.2        # YAML settings, CLI overrides

Prompts go through the model's chat template (a train_sft.py model carries the Magicoder one), so an instruction is
rendered as the training prompt; `--response_prefix` pre-fills the answer and `--raw` sends the text as it is. In file
mode every input row gives one output line (its columns + `output` + `index`), written and flushed per batch; run the
same command again after a crash and only the missing rows are generated. `<output>.settings.json` records the model,
backend and sampling settings, and a rerun with different ones is refused rather than mixed into the same file.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from oss_common.journal import Journal
from oss_generate import BACKEND_OPTIONS, BACKENDS, GenerationError, Request, SamplingParams, make_backend
from oss_generate.base import detail

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


def make_parser():
    import trl

    parser = trl.TrlParser(GenerateArguments)

    def error(message: str):  # one line instead of argparse's usage block
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)

    parser.error = error
    return parser


def backend_options(args: GenerateArguments) -> dict:
    options = BACKEND_OPTIONS[args.backend]
    defaults = GenerateArguments.__dataclass_fields__
    for name in sorted({o for opts in BACKEND_OPTIONS.values() for o in opts} - set(options) - {"seed"}):
        if getattr(args, name) != defaults[name].default:
            logger.warning("--%s is not used by the %s backend", name, args.backend)
    return {name: getattr(args, name) for name in options}


def to_request(args: GenerateArguments, text=None, row: dict | None = None, index=None):
    """The request for a prompt text, or for a row (its `messages`, else its prompt column)."""
    prefix = args.response_prefix
    if row is not None:
        prefix = row["response_prefix"] if isinstance(row.get("response_prefix"), str) else prefix
        if row.get("messages") and isinstance(row["messages"], list) and not args.raw:
            messages = list(row["messages"])
        elif args.prompt_column in row:
            text = row[args.prompt_column]
        else:
            raise GenerationError(
                f"row {index} has no {args.prompt_column!r} column (columns: {', '.join(row)}). Set --prompt_column."
            )
    if text is not None:
        if args.raw:
            return Request([], str(text) + prefix, id=None if index is None else str(index))
        messages = [{"role": "user", "content": str(text)}]
    if args.system_prompt and messages[0].get("role") != "system":
        messages = [{"role": "system", "content": args.system_prompt}, *messages]
    return Request(messages, prefix, id=None if index is None else str(index))


# --- file mode ------------------------------------------------------------------------------------------------------


def load_rows(args: GenerateArguments) -> list[dict]:
    if args.input_file and args.input_file.endswith(".jsonl"):
        try:
            with open(args.input_file, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except (OSError, json.JSONDecodeError) as err:
            raise GenerationError(f"cannot read --input_file {args.input_file}: {detail(err)}.") from err
    import datasets

    try:
        if args.input_file:
            builder = {".json": "json", ".parquet": "parquet", ".csv": "csv"}.get(Path(args.input_file).suffix)
            if builder is None:
                raise GenerationError(f"--input_file {args.input_file}: use a .jsonl, .json, .parquet or .csv file.")
            dataset = datasets.load_dataset(builder, data_files=args.input_file, split="train")
        else:
            dataset = datasets.load_dataset(
                args.dataset_name, args.dataset_config, split=args.dataset_split, revision=args.dataset_revision
            )
    except (OSError, ValueError) as err:
        source = args.input_file or f"{args.dataset_name} (split {args.dataset_split})"
        raise GenerationError(
            f"cannot load {source}: {detail(err)}. Check the path, or the dataset id and split."
        ) from err
    return list(dataset)


def check_settings(path: Path, settings: dict, resuming: bool) -> None:
    """Refuse to resume an output file made with other settings; record the settings otherwise."""
    if resuming and path.exists():
        before = json.loads(path.read_text())["fingerprint"]
        changed = {
            k
            for k in before.keys() | settings["fingerprint"].keys()
            if before.get(k) != settings["fingerprint"].get(k)
        }
        if changed:
            diff = ", ".join(f"{k}: {before.get(k)!r} -> {settings['fingerprint'].get(k)!r}" for k in sorted(changed))
            raise GenerationError(
                f"{path} says the existing output was generated with other settings ({diff}). Use another "
                "--output_file, or delete the output file to start over."
            )
    path.write_text(json.dumps(settings, indent=2) + "\n")


def run_file(args: GenerateArguments, backend, params) -> None:
    from tqdm.auto import tqdm

    rows = load_rows(args)
    for column in (args.output_column, args.index_column):
        if rows and column in rows[0]:
            flag = "--output_column" if column == args.output_column else "--index_column"
            raise GenerationError(f"the input already has a {column!r} column: set {flag} to another name.")
    output = Path(args.output_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(output, fsync_interval=0, key=args.index_column)  # on disk after every row
    try:
        done = journal.open().done  # a torn last line (a crash mid-write) is cut off
    except ValueError as err:
        raise GenerationError(
            f"{err}: it is not an output of generate.py. Use another --output_file (or set --index_column)."
        ) from err
    try:
        if unknown := {i for i in done if not (isinstance(i, int) and 0 <= i < len(rows))}:
            raise GenerationError(
                f"{output} holds rows with indices {sorted(unknown, key=str)[:5]} that the input ({len(rows)} rows) "
                "does not have: it was made from another input. Use another --output_file."
            )
        fingerprint = {
            "model": args.model_name_or_path,
            "backend": args.backend,
            "revision": args.revision,
            "chat_template_sha256": backend.describe().get("chat_template_sha256"),
            "input": args.input_file
            or [args.dataset_name, args.dataset_config, args.dataset_split, args.dataset_revision],
            "prompt_column": args.prompt_column,
            "system_prompt": args.system_prompt,
            "response_prefix": args.response_prefix,
            "raw": args.raw,
            "sampling": asdict(params),
        }
        settings = {"fingerprint": fingerprint, "backend": backend.describe(), "batch_size": args.batch_size}
        check_settings(output.with_suffix(".settings.json"), settings, resuming=bool(done))
        pending = [i for i in range(len(rows)) if i not in done]
        if done:
            logger.info("%s: %d of %d rows already there, generating %d", output, len(done), len(rows), len(pending))
        with tqdm(total=len(rows), initial=len(done), desc="generate") as bar:
            for start in range(0, len(pending), args.batch_size):
                batch = pending[start : start + args.batch_size]
                requests = [to_request(args, row=rows[i], index=i) for i in batch]
                for i, completions in zip(batch, backend.generate(requests, params), strict=True):
                    out = completions[0] if params.n == 1 else completions
                    journal.append(rows[i] | {args.output_column: out, args.index_column: i})
                bar.update(len(batch))
    finally:
        journal.close()
    logger.info("Wrote %s (%d rows)", output, len(rows))


# --- prompt and chat modes ------------------------------------------------------------------------------------------


def run_prompt(args: GenerateArguments, backend, params) -> None:
    [completions] = backend.generate([to_request(args, text=args.prompt)], params)
    for k, text in enumerate(completions, 1):
        if len(completions) > 1:
            print(f"--- completion {k}/{len(completions)} ---")
        print(text, flush=True)


def run_chat(args: GenerateArguments, backend, params) -> None:
    """Read user turns from stdin; `/reset` forgets the conversation, `/exit` (or end of input) ends it."""
    interactive = sys.stdin.isatty()
    system = [{"role": "system", "content": args.system_prompt}] if args.system_prompt else []
    history = list(system)
    if interactive:
        print("Chat with the model: /reset starts over, /exit quits.", file=sys.stderr)
    while True:
        if interactive:
            print("> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() == "/exit":
            return
        line = line.rstrip("\n")
        if line.strip() == "/reset":
            history = list(system)
            print("(conversation reset)", file=sys.stderr)
            continue
        if not line.strip():
            continue
        history.append({"role": "user", "content": line})
        [completions] = backend.generate([Request(history, args.response_prefix)], params)
        answer = args.response_prefix + completions[0]
        print(answer, flush=True)
        history.append({"role": "assistant", "content": answer})


def main(args: GenerateArguments) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    params = SamplingParams(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        n=args.num_return_sequences,
        seed=args.seed,
        stop=list(args.stop),
    )
    with make_backend(args.backend, args.model_name_or_path, **backend_options(args)) as backend:
        {"prompt": run_prompt, "chat": run_chat, "file": run_file}[args.mode](args, backend, params)


def cli(argv: list[str] | None = None) -> int:
    """Parse, run, and turn user errors into one line on stderr and exit status 2."""
    import yaml

    try:
        (args,) = make_parser().parse_args_and_config(argv)
    except (ValueError, OSError, yaml.YAMLError) as err:  # bad arguments, a bad or missing --config file
        print(f"error: {detail(err)}.", file=sys.stderr)
        return 2
    try:
        main(args)
    except GenerationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())

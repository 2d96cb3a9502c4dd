"""generate.py's three modes: one prompt, a file or dataset of prompts (resumable), and a chat in the terminal.

In file mode every input row gives one output line (its columns + `output` + `index`), written and flushed per batch
to an append-only journal; a rerun generates only the missing rows, and `<output>.settings.json` refuses a rerun with
other settings.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from oss_common.journal import Journal
from oss_generate.base import GenerationError, Request, detail
from oss_generate.config import GenerateArguments

logger = logging.getLogger("generate")


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


MODES = {"prompt": run_prompt, "chat": run_chat, "file": run_file}

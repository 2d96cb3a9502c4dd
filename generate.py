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

import sys

from oss_common import errors
from oss_common.logs import configure_logging
from oss_common.parsing import parse
from oss_generate import GenerationError, SamplingParams, make_backend
from oss_generate.base import detail
from oss_generate.config import GenerateArguments, backend_options
from oss_generate.modes import MODES


def make_parser():
    import trl

    parser = trl.TrlParser(GenerateArguments)

    def error(message: str):  # one line instead of argparse's usage block
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)

    parser.error = error
    return parser


def main(args: GenerateArguments) -> None:
    # --- setup -------------------------------------------------------------------------------------------------------
    configure_logging()

    # --- sampling ----------------------------------------------------------------------------------------------------
    params = SamplingParams(
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        n=args.num_return_sequences,
        seed=args.seed,
        stop=list(args.stop),
    )

    # --- backend, then the mode: one prompt, a file of prompts, or a chat --------------------------------------------
    with make_backend(args.backend, args.model_name_or_path, **backend_options(args)) as backend:
        MODES[args.mode](args, backend, params)


def cli(argv: list[str] | None = None) -> int:
    """Parse and run; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    return errors.run(parse_and_run, argv, (GenerationError,))


def parse_and_run(argv: list[str]) -> None:
    import yaml

    try:
        (args,) = parse(make_parser(), argv)
    except (ValueError, OSError, yaml.YAMLError) as err:  # bad arguments, a bad or missing --config file
        raise errors.UserError(f"{detail(err)}.") from err
    main(args)


if __name__ == "__main__":
    sys.exit(cli())

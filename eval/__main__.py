"""`python -m eval --config recipes/eval/humaneval_mbpp.yaml [--field value ...]`: see eval/config.py for fields."""

from __future__ import annotations

import sys

from oss_common.logs import configure_logging


def make_parser():
    from trl import TrlParser

    from eval.config import EvalConfig

    return TrlParser(EvalConfig)


def cli(argv: list[str] | None = None) -> int:
    from eval.problems import ProblemsError

    configure_logging("%(levelname)s %(name)s: %(message)s")
    try:
        (config,) = make_parser().parse_args_and_config(argv)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from eval import run
    from eval.bigcode import HarnessError, HarnessMissing
    from oss_generate import GenerationError

    try:
        run.main(config)
    except (ProblemsError, GenerationError, HarnessMissing, HarnessError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(cli())

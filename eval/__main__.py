"""`python -m eval --config recipes/eval/humaneval_mbpp.yaml [--field value ...]`: see eval/config.py for fields."""

from __future__ import annotations

import sys

from oss_common import errors
from oss_common.logs import configure_logging
from oss_common.parsing import parse


def make_parser():
    from trl import TrlParser

    from eval.config import EvalConfig

    return TrlParser(EvalConfig)


def cli(argv: list[str] | None = None) -> int:
    """Parse and run; a user error is one line on stderr and exit status 2 (oss_common.errors)."""
    from eval.bigcode import HarnessError, HarnessMissing
    from eval.problems import ProblemsError
    from oss_generate import GenerationError

    return errors.run(parse_and_run, argv, (ProblemsError, GenerationError, HarnessMissing, HarnessError))


def parse_and_run(argv: list[str]) -> None:
    configure_logging("%(levelname)s %(name)s: %(message)s")
    try:
        (config,) = parse(make_parser(), argv)
    except (ValueError, OSError) as err:  # bad arguments, a bad or missing --config file
        raise errors.UserError(err) from err
    from eval import run

    try:
        run.main(config)
    except ValueError as err:  # a setting that does not fit the run (eval/run.py)
        raise errors.UserError(err) from err


if __name__ == "__main__":
    sys.exit(cli())

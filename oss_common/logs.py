"""Logging set-up shared by the entry points."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that print their records through a handler of their own (added when they are imported). Passed on to the
# root logger as well, each of their warnings (the Hub's "Retrying in 1s [Retry 1/5]") would print twice; transformers
# already keeps its own to itself.
OWN_HANDLER_LIBRARIES = ("huggingface_hub", "datasets")


def configure_logging(fmt: str = FORMAT) -> None:
    """INFO and above to stderr in `fmt`; the libraries with their own handler print their records once, there."""
    logging.basicConfig(level=logging.INFO, format=fmt)
    for name in OWN_HANDLER_LIBRARIES:
        logging.getLogger(name).propagate = False

"""One error style for every entry point.

A user error (a bad recipe, path, key or model name, an unreachable server, a missing tool) prints `error: ...` in
one or two lines and exits 2; Ctrl-C prints "interrupted; rerun the same command to resume" and exits 130. With
`--debug` on the command line or OSS_INSTRUCT_DEBUG=1 in the environment both show their traceback instead. Anything
else is a bug and is not caught: its traceback shows as usual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

DEBUG_FLAG = "--debug"
DEBUG_ENV = "OSS_INSTRUCT_DEBUG"
USER_ERROR = 2
INTERRUPTED = 130
INTERRUPTED_MESSAGE = "interrupted; rerun the same command to resume"


class UserError(Exception):
    """Something the user can fix; the message says what and how."""


def split_debug(argv: Sequence[str]) -> tuple[list[str], bool]:
    """`argv` without a bare `--debug`, and whether tracebacks were asked for. `--debug VALUE` is left alone: it is
    TrainingArguments' own option in train_sft.py."""
    argv = list(argv)
    bare = [i for i, arg in enumerate(argv) if arg == DEBUG_FLAG and (i + 1 == len(argv) or argv[i + 1][:2] == "--")]
    for i in reversed(bare):
        del argv[i]
    return argv, bool(bare) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def detail(err: BaseException | str) -> str:
    """An exception's message on one line, without a final period (to be followed by the fix)."""
    return " ".join(str(err).split()).rstrip(".")


def server_message(err: BaseException) -> str:
    """What the server said in an HTTP error from the `openai` client (its `error.message`, or FastAPI's
    `detail`), on one line; else the exception's message."""
    body = getattr(err, "body", None)  # the client keeps the JSON body's `error` object here
    if isinstance(body, dict):
        body = body.get("message") or body.get("detail") or body
    text = body if isinstance(body, str) and body else getattr(err, "message", None) or str(err)
    return detail(text)


def request_url(err: BaseException) -> str | None:
    """The URL of the request an `openai` client error is about, if it says."""
    request = getattr(err, "request", None)
    return str(request.url) if request is not None else None


def is_main_process() -> bool:
    """False in the other ranks of a distributed launch (`accelerate launch`, `torchrun`): only rank 0 reports."""
    return os.environ.get("RANK", "0") == "0"


def report(message: str) -> None:
    if is_main_process():
        print(message, file=sys.stderr, flush=True)


def run(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None, user_errors: tuple = ()) -> int:
    """`main(argv)` (default: sys.argv[1:], less `--debug`) with the error style above; its return value, or 0."""
    argv, debug = split_debug(sys.argv[1:] if argv is None else argv)
    if debug:
        os.environ[DEBUG_ENV] = "1"  # also for the processes it starts
    try:
        return main(argv) or 0
    except KeyboardInterrupt:
        if debug:
            raise
        report(f"\n{INTERRUPTED_MESSAGE}")
        return INTERRUPTED
    except (UserError, *user_errors) as err:
        if debug:
            raise
        report(f"error: {err}")
        return USER_ERROR

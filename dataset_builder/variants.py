"""The dataset's configs beside `default`: which rows each variant keeps (the paper's Tables 5 and 10)."""

from __future__ import annotations

import io
import re
import tokenize

PYTHON_FENCE = "```python"
PYTHON_BLOCK = re.compile(r"```python[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
NOISY_NAMES = {"pass", "NotImplemented", "NotImplementedError"}
NOISY_FALLBACK = re.compile(r"\b(?:pass|NotImplemented(?:Error)?)\b")


def is_python(row: dict) -> bool:
    """Table 5's split: a row is Python when its problem or solution contains a ```python fence."""
    return PYTHON_FENCE in (row["problem"] or "") + (row["solution"] or "")


def _has_noisy_token(code: str) -> bool:
    try:
        return any(
            tok.type == tokenize.NAME and tok.string in NOISY_NAMES
            for tok in tokenize.generate_tokens(io.StringIO(code).readline)
        )
    except (tokenize.TokenError, IndentationError, SyntaxError):
        code = "\n".join(line.split("#", 1)[0] for line in code.splitlines())
        return bool(NOISY_FALLBACK.search(code))


def is_noisy(row: dict) -> bool:
    """Table 10 / §C.3: a Python problem whose solution code holds `pass` or `NotImplemented` tokens.

    Only code counts (the ```python blocks of the solution, or the whole solution when it has none), and only as
    Python tokens: `pass` in prose, comments or strings does not. `NotImplementedError` counts as the `raise
    NotImplementedError` placeholder is the usual form of partially implemented code.
    """
    if not is_python(row):
        return False
    solution = row["solution"] or ""
    blocks = PYTHON_BLOCK.findall(solution) or [solution]
    return any(_has_noisy_token(block) for block in blocks)


VARIANTS = {
    "python": is_python,
    "non_python": lambda row: not is_python(row),
    "no_noisy": lambda row: not is_noisy(row),
}

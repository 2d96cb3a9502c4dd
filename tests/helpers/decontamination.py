"""The reference the decontaminate stage's index is checked against (tests) and timed against (the bench)."""


def naive_first(texts: list[str], needles: list[str]) -> list[int | None]:
    """bigcode's loop, the reference the index must agree with: the first needle (lower-cased) in each text."""
    out = []
    for text in texts:
        low = text.lower()
        out.append(next((i for i, needle in enumerate(needles) if needle in low), None))
    return out

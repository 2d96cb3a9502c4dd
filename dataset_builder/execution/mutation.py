"""Mutants of a whole solution file, to measure how strong a row's tests are (the execute stage's `mutants_per_row`).

Every mutation site of the file is found by four deterministic text mutators (strings and comments are never
changed; the scanning is `mutators`', which the external benchmarks use on function bodies):

- `flip_comparison`: one comparison flipped, `<`↔`>=`, `>`↔`<=`, `==`↔`!=` (`===`↔`!==`; Bash's `-lt`↔`-ge`,
  `-gt`↔`-le`, `-eq`↔`-ne`). A bare `<`/`>` counts only where it cannot be a generic's bracket or, in Bash, a
  redirection.
- `constant`: one integer literal plus one, or minus one (not below 0).
- `default_return`: one `return <expression>` returning the type's default instead: Python `None`, C++ `{}`, Rust
  `Default::default()`, PHP `null`, Bash `0`, Java/C#/TypeScript by the enclosing function's declared return type.
- `remove_statement`: one simple statement removed (Python's becomes `pass`, Bash's `:`; a declaration is kept).

`mutants(...)` picks K of the sites, the same K for the same row every time (by hashes seeded with the row's key and
solution). A mutant identical to the original, or one that does not compile (the compiler's verdict; Python's
`ast.parse`; Bash's and PHP's runners check that the solution parses before running it), is not a valid mutant: the
caller counts it apart, never as a kill. The score says how many of these mutants the tests notice; it does not say
the tests are right, complete or would catch other kinds of bugs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from dataset_builder.execution.mutators import _FLIP, _INT, _SPACED, _TIGHT, _TWO, _code_spans, _default_value

MUTATORS = ("flip_comparison", "constant", "default_return", "remove_statement")
C_LIKE = ("cpp", "java", "csharp", "typescript", "php", "rust", "swift")
_SHELL_FLIP = {"-lt": "-ge", "-ge": "-lt", "-gt": "-le", "-le": "-gt", "-eq": "-ne", "-ne": "-eq"}
_SHELL_TEST = re.compile(r"(?<=\s)(-lt|-ge|-gt|-le|-eq|-ne)(?=\s)")
_GENERIC = re.compile(
    r"(?:\b[A-Z]\w*|vector|map|set|pair|list|array|tuple|queue|stack|deque|unordered_\w+|template|\w+_cast|greater|less"
    r"|\w+_ptr|optional|function|numeric_limits)\s*$"
)
_GENERIC_OPEN = re.compile(_GENERIC.pattern.removesuffix(r"\s*$") + r"\s*<[^<>]*$")
_RETURN = re.compile(r"\breturn\b")
_DEFAULTS = {"python": "None", "cpp": "{}", "rust": "Default::default()", "php": "null", "shell": "0"}
_KEEP_PYTHON = re.compile(r"(def|class|return|import|from|else|elif|except|finally|try|pass|with|for|while|if)\b|@")
_KEEP_C = re.compile(
    r"(return|let|const|var|auto|final|static|private|public|protected|internal|using|use|import|package|#|namespace)"
    r"\b|[\w:<>\[\],.]+[\s*&]+\w+\s*(=|;)"  # a declaration: `Type name = ...;`
)
_KEEP_SHELL = re.compile(r"(if|then|else|elif|fi|for|while|until|do|done|case|esac|function|local|return)\b|#!")


@dataclass(frozen=True)
class Site:
    """One change of the file: `text[start:end]` becomes `replacement`."""

    mutator: str
    start: int
    end: int
    replacement: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]


@dataclass(frozen=True)
class Mutant:
    index: int  # its place among the row's mutants (part of its journal key)
    mutator: str
    text: str
    valid: bool  # False: identical to the original or not parseable (counted apart, never run)
    why: str = ""


class Code(list):
    """The (start, end) spans of a file that are code (not strings or comments), with a per-character lookup: the
    scans below ask about every character, and a file of many strings has many spans."""

    def __init__(self, spans: list[tuple[int, int]], size: int):
        super().__init__(spans)
        self.mask = bytearray(size + 1)
        for a, b in spans:
            self.mask[a:b] = b"\x01" * (b - a)


def _in_code(spans: Code, position: int) -> bool:
    return bool(spans.mask[position])


def _matches(pattern: re.Pattern, text: str, spans, accept=lambda m: True):
    for a, b in spans:
        for m in pattern.finditer(text, a, b):
            if accept(m):
                yield m


def flip_sites(text: str, language: str, spans) -> list[Site]:
    def not_generic(m: re.Match) -> bool:
        before = text[: m.start()]
        if m.group(1) == ">":  # the closing bracket of `static_cast<int>` or `vector<int>`
            line = before[before.rfind("\n") + 1 :]
            return not (line.endswith("-") or _GENERIC_OPEN.search(line))
        return not (_GENERIC.search(before) or before.endswith("-"))

    def preprocessor(position: int) -> bool:  # `#include<vector>`: brackets, not a comparison
        return language in ("cpp", "csharp") and text[text.rfind("\n", 0, position) + 1 :].lstrip().startswith("#")

    found = {m.start(): m for m in _matches(_TWO, text, spans)}
    if language == "shell":  # a bare < or > is a redirection there
        found |= {m.start(): m for m in _matches(_SHELL_TEST, text, spans)}
    else:
        for m in (*_matches(_SPACED, text, spans), *_matches(_TIGHT, text, spans, not_generic)):
            found.setdefault(m.start(), m)
    flips = _SHELL_FLIP | _FLIP
    kept = [m for _, m in sorted(found.items()) if not preprocessor(m.start())]
    return [Site("flip_comparison", m.start(), m.end(), flips[m.group(1)]) for m in kept]


def constant_sites(text: str, language: str, spans) -> list[Site]:
    sites = []
    for m in _matches(_INT, text, spans):
        value = int(m.group(1))
        sites.append(Site("constant", m.start(), m.end(), str(value + 1)))
        if value > 0:
            sites.append(Site("constant", m.start(), m.end(), str(value - 1)))
    return sites


def _statement_end(text: str, start: int, language: str, spans) -> int | None:
    """Where the statement starting at `start` ends (its `;`, or its line's end for Python and Bash), at bracket depth
    0 and in code; None when it runs past its line (Python, Bash) or has no end."""
    depth = 0
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    i = start
    while i < len(text):
        if not _in_code(spans, i):
            i += 1
            continue
        c = text[i]
        if language in ("python", "shell") and (i == line_end or (language == "shell" and c in ";}" and depth == 0)):
            return i if depth == 0 and text[start:i].strip() else None
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == ";" and depth == 0 and language not in ("python", "shell"):
            return i
        i += 1
    return line_end if language in ("python", "shell") and depth == 0 else None


def _declared_default(text: str, position: int, language: str) -> str:
    """The default value of the return type of the function around `position`: from the last line before it that
    looks like a signature (Java, C#, TypeScript); `_default_value`'s fallback when none does."""
    if language in _DEFAULTS:
        return _DEFAULTS[language]
    if language not in ("java", "csharp", "typescript"):
        return "null"
    lines = text[:position].splitlines(keepends=True)
    for k in range(len(lines) - 1, -1, -1):
        line = lines[k].rstrip()
        if line.endswith("{") and "(" in line and not re.match(r"\s*(if|for|while|switch|catch|else)\b", line):
            return _default_value(line, language)  # the signature line alone: the regexes read its end
    return _default_value("", language)


def return_sites(text: str, language: str, spans) -> list[Site]:
    sites = []
    for m in _matches(_RETURN, text, spans):
        start = m.end()
        while start < len(text) and text[start] in " \t":
            start += 1
        end = _statement_end(text, start, language, spans)
        if end is None or not text[start:end].strip():
            continue
        expression_end = end
        while expression_end > start and (
            text[expression_end - 1].isspace() or not _in_code(spans, expression_end - 1)
        ):
            expression_end -= 1  # a comment after the expression stays
        sites.append(Site("default_return", start, expression_end, _declared_default(text, m.start(), language)))
    return sites


def _line_depth_zero(text: str, spans, language: str) -> list[tuple[int, int]]:
    """(start, end) of each line that starts outside any string or bracket ((), []; also {} outside C-like code)."""
    lines, depth, position = [], 0, 0
    for line in text.splitlines(keepends=True):
        start, end = position, position + len(line.rstrip("\n"))
        if depth == 0:
            lines.append((start, end))
        for i in range(start, position + len(line)):
            if _in_code(spans, i) and text[i] in "([":
                depth += 1
            elif _in_code(spans, i) and text[i] in ")]":
                depth = max(depth - 1, 0)
        position += len(line)
    return lines


def remove_sites(text: str, language: str, spans) -> list[Site]:
    sites = []
    for start, end in _line_depth_zero(text, spans, language):
        line = text[start:end]
        stripped = line.strip()
        first = start + len(line) - len(line.lstrip())
        if not stripped or not _in_code(spans, first) or not _in_code(spans, end - 1):
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if language == "python":
            if (
                stripped.endswith((":", "\\", ","))
                or _KEEP_PYTHON.match(stripped)
                or _statement_end(text, first, language, spans) != end
            ):
                continue
            sites.append(Site("remove_statement", start, end, f"{indent}pass"))
        elif language == "shell":
            if _KEEP_SHELL.match(stripped) or any(c in stripped for c in "{}") or stripped.endswith(("\\", "(")):
                continue
            if stripped.count("(") != stripped.count(")") or ";;" in stripped or re.match(r"\w+\)", stripped):
                continue
            sites.append(Site("remove_statement", start, end, f"{indent}:"))
        elif language in C_LIKE:
            if not stripped.endswith(";") or any(c in stripped for c in "{}") or _KEEP_C.match(stripped):
                continue
            if stripped.startswith("for") or _statement_end(text, first, language, spans) != end - 1:
                continue
            sites.append(Site("remove_statement", start, end, indent))
    return sites


def sites(text: str, language: str) -> list[Site]:
    """Every mutation site of the file, in MUTATORS order and then by position."""
    # Bash's comments are Python's `#` (a `$#` or `${#x}` ends that line's code early: fewer sites, never a wrong one)
    spans = Code(_code_spans(text, "python" if language == "shell" else language), len(text))
    found = []
    for make in (flip_sites, constant_sites, return_sites, remove_sites):
        found += make(text, language, spans)
    return found


def seed_of(key, solution: str) -> int:
    """The row's generator seed: its key and its solution, so the same row gets the same mutants on every run."""
    return int.from_bytes(hashlib.sha256(f"{key}\n{solution}".encode()).digest()[:8], "big")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _parses(text: str, language: str) -> bool:
    """Python is checked here (`ast.parse` only reads it); the compiled languages' compilers check theirs."""
    if language != "python":
        return True
    import ast

    try:
        ast.parse(text)
    except (SyntaxError, ValueError):  # ValueError: a null byte; either way not a valid mutant
        return False
    return True


def mutants(key, solution: str, language: str, k: int) -> list[Mutant]:
    """K mutants of `solution` (fewer when it has fewer sites), chosen by the row's seed, in site order."""
    if k <= 0:
        return []
    found = sites(solution, language)
    seed = seed_of(key, solution)  # the K sites with the smallest hashes: the same on every Python and machine
    chosen = sorted(sorted(range(len(found)), key=lambda i: _digest(f"{seed}:{i}"))[:k])
    out = []
    for index, site in enumerate(found[i] for i in chosen):
        text = site.apply(solution)
        if text == solution:
            out.append(Mutant(index, site.mutator, text, False, "identical"))
        elif not _parses(text, language):
            out.append(Mutant(index, site.mutator, text, False, "does not parse"))
        else:
            out.append(Mutant(index, site.mutator, text, True))
    return out

"""Deterministic mutants of a function body, by text, per language (the external benchmarks mutate their references
with these; `mutation` extends them to whole solution files). Each mutator gives at most one mutant:

- `default_return`: the function's body becomes a return of its type's default value: Python `return None`, C++
  `return {};`, Rust `return Default::default();`, PHP `return null;`, Java/C#/TypeScript by the declared return
  type (`false`, `0`, `""`, an empty list/array, else `null`), JavaScript `return undefined;`. The text after the
  function's closing brace (a class's brace, helper functions) is kept.
- `flip_comparison`: the first comparison in the body flipped: `<`↔`>=`, `>`↔`<=`, `==`↔`!=` (`===`↔`!==`). An
  unambiguous two-character operator is preferred; a bare `<`/`>` counts only with a space on both sides or between
  a lowercase name and a number/name (not a generic's `<`).
- `off_by_one`: the first integer literal in the body plus one (`range(1, n)` → `range(2, n)`, `i < 3` → `i < 4`).

Strings and comments are never changed. A mutant identical to the reference, or one that does not
compile is counted apart by the caller (neither is a kill).
"""

from __future__ import annotations

import re

MUTATORS = ("default_return", "flip_comparison", "off_by_one")
_FLIP = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "==", "===": "!==", "!==": "==="}


def _code_spans(text: str, language: str) -> list[tuple[int, int]]:
    """(start, end) of the parts of `text` that are code: outside string/char literals and comments."""
    spans, start, i, n = [], 0, 0, len(text)
    line_comment = ("#",) if language == "python" else ("//", "#") if language == "php" else ("//",)
    while i < n:
        c = text[i]
        if any(text.startswith(m, i) for m in line_comment):
            spans.append((start, i))
            i = text.find("\n", i)
            i = n if i < 0 else i
            start = i
        elif language != "python" and text.startswith("/*", i):
            spans.append((start, i))
            j = text.find("*/", i + 2)
            i = start = n if j < 0 else j + 2
        elif c in "\"'`" and not (c == "`" and language not in ("js", "typescript")):
            if c == "'" and language == "rust" and not re.match(r"'(?:\\.|[^\\'])'", text[i:]):
                i += 1  # a lifetime, not a char literal
                continue
            spans.append((start, i))
            j = i + 1
            triple = language == "python" and text.startswith(c * 3, i)
            end = c * 3 if triple else c
            j = i + len(end)
            while j < n and not text.startswith(end, j):
                j += 2 if text[j] == "\\" else 1
            i = start = min(n, j + len(end))
        else:
            i += 1
    spans.append((start, n))
    return [(a, b) for a, b in spans if b > a]


def _find_in_code(pattern: re.Pattern, text: str, language: str, accept=lambda m: True) -> re.Match | None:
    """The first match of `pattern` in the code of `text` that `accept` takes."""
    for a, b in _code_spans(text, language):
        for m in pattern.finditer(text, a, b):
            if accept(m):
                return m
    return None


def function_end(body: str, language: str) -> int | None:
    """Where the function's own closing brace is in `body` (the first `}` that closes more than the body opens)."""
    depth = 0
    for a, b in _code_spans(body, language):
        for i in range(a, b):
            if body[i] == "{":
                depth += 1
            elif body[i] == "}":
                depth -= 1
                if depth < 0:
                    return i
    return None


_CPP_LIKE_SIGNATURE = re.compile(r"([\w<>\[\],.? ]+?)\s+(\w+)\s*\([^()]*\)\s*(?:throws[\w\s,.]+)?\{?\s*$")
_TS_RETURN = re.compile(r"\)\s*:\s*([^={]+?)\s*(?:=>)?\s*\{\s*$")


def _default_value(prefix: str, language: str) -> str | None:
    if language == "python":
        return "None"
    if language == "cpp":
        return "{}"
    if language == "rust":
        return "Default::default()"
    if language == "php":
        return "null"
    if language == "js":
        return "undefined"
    tail = prefix.rstrip()[-400:]
    if language == "typescript":
        m = _TS_RETURN.search(tail)
        kind = m.group(1).strip() if m else ""
    else:  # java, csharp: the last declaration's return type
        m = _CPP_LIKE_SIGNATURE.search(tail.splitlines()[-1] if tail else "")
        kind = m.group(1).split()[-1] if m else ""
    lowered = kind.lower()
    if lowered in ("boolean", "bool"):
        return "false"
    if lowered in ("int", "long", "short", "byte", "double", "float", "number", "decimal", "uint", "ulong"):
        return "0"
    if lowered == "char":
        return "'\\0'"
    if lowered == "string":
        return '""'
    if language == "typescript" and (kind.endswith("[]") or kind.startswith(("Array<", "any[]"))):
        return "[]"
    if language == "typescript":
        return "undefined as any"
    return "null"


def default_return(prefix: str, body: str, language: str) -> str | None:
    value = _default_value(prefix, language)
    if language == "python":
        first = next((line for line in body.splitlines() if line.strip()), "    pass")
        indent = first[: len(first) - len(first.lstrip())]
        return f"{indent}return {value}\n"
    end = function_end(body, language)
    if end is None:
        return None
    line_start = body.rfind("\n", 0, end) + 1
    if not body[line_start:end].strip():
        end = line_start  # keep the closing brace's indentation
    return f"\n    return {value};\n{body[end:]}"


_TWO = re.compile(r"(?<![=!<>])(===|!==|==|!=|<=|>=)(?![=>])")
_SPACED = re.compile(r"(?<=\s)(<|>)(?=\s)")
_TIGHT = re.compile(r"(?<=[a-z_\])])(<|>)(?=[\w(])")
_GENERIC_NAMES = re.compile(r"(?:vector|map|set|pair|list|array|tuple|queue|stack|deque|unordered_\w+|Vec)\s*$")


def flip_comparison(prefix: str, body: str, language: str) -> str | None:
    def not_generic(m: re.Match) -> bool:
        before = body[: m.start()]
        return not (_GENERIC_NAMES.search(before) or before.endswith("-") or before.rstrip()[-1:].isupper())

    m = _find_in_code(_TWO, body, language) or _find_in_code(_SPACED, body, language)
    m = m or _find_in_code(_TIGHT, body, language, not_generic)
    if m is None:
        return None
    return body[: m.start()] + _FLIP[m.group(1)] + body[m.end() :]


_INT = re.compile(r"(?<![\w.$])(\d+)(?![\w.])")


def off_by_one(prefix: str, body: str, language: str) -> str | None:
    m = _find_in_code(_INT, body, language)
    if m is None:
        return None
    return body[: m.start()] + str(int(m.group(1)) + 1) + body[m.end() :]


def mutants(prefix: str, body: str, language: str) -> list[tuple[str, str]]:
    """(mutator, mutated body) for each mutator that applies, in MUTATORS order; a body equal to the reference
    (e.g. a default return of a body that already is one) is included, for the caller to count apart."""
    out = []
    for name, mutate in zip(MUTATORS, (default_return, flip_comparison, off_by_one), strict=True):
        changed = mutate(prefix, body, language)
        if changed is not None:
            out.append((name, changed))
    return out

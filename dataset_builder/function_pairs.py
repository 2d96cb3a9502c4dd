"""Comment–function pairs mined from one source document, after CodeSearchNet (Magicoder's Table 6 baseline).

A pair: `instruction` = the function's decorators/annotations, signature and comment exactly as in the source (Python:
the docstring inside the function; other languages: the comment block directly above it), `response` = the rest of
the function, so `instruction + "\\n" + response` is the function's text (dedented). Filters, after CodeSearchNet:

- the comment has at least `MIN_COMMENT_WORDS` words (CodeSearchNet: docstrings under 3 tokens);
- the body has at least `MIN_BODY_LINES` lines of code, not blank, not comments, not the closing brace
  (CodeSearchNet drops functions under 3 lines: a signature and 2 body lines);
- no names containing "test", no `__dunder__` methods, no constructors/destructors.

Python is parsed with `ast`. The brace languages (`BRACE_LANGUAGES`) are scanned with a small lexer that skips
strings, character literals and comments: a `/** ... */` block or a run of `///`/`//` lines, directly above a
signature (up to `MAX_SIGNATURE_LINES` lines, parentheses balanced, no `;` outside them) that ends a line with `{`,
and a body whose matching `}` starts a line. It is a heuristic, not a parser: regex literals (TypeScript), PHP
heredocs, preprocessor tricks and nested Rust block comments can confuse it, one-line bodies (`{ return x; }`) and
expression-bodied members (`=> x;`) are not mined, and commented-out code above a function reads as its comment.
Shell and other languages give no pairs.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator
from functools import lru_cache

MIN_COMMENT_WORDS = 3
MIN_BODY_LINES = 2
MAX_SIGNATURE_LINES = 12
BRACE_LANGUAGES = ("java", "cpp", "csharp", "typescript", "rust", "php", "swift")

WORD = re.compile(r"[^\W_]+")
XML_TAG = re.compile(r"</?\w+[^<>]*>")
CONSTRUCTORS = {"constructor", "init", "deinit", "__construct", "__destruct", "new", "drop"}
CONTROL = {
    "if", "else", "for", "foreach", "while", "do", "switch", "case", "catch", "try", "finally", "using", "lock",
    "synchronized", "fixed", "return", "throw", "new", "sizeof", "typeof", "match", "loop", "guard", "when", "with",
    "await", "yield", "assert", "defer", "unsafe", "checked", "unchecked", "elseif", "declare", "static_assert",
}  # fmt: skip
DECLARATIONS = re.compile(
    r"\b(class|struct|interface|enum|union|namespace|impl|trait|extension|protocol|record|module|mod|macro_rules)\b"
)
MODIFIERS = {
    "public", "private", "protected", "internal", "static", "final", "abstract", "virtual", "override", "explicit",
    "inline", "constexpr", "extern", "sealed", "partial", "unsafe", "async", "export", "default", "readonly",
}  # fmt: skip
ARROW_NAME = re.compile(
    r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:async\s+)?(?:function\b[^(]*)?\("
)
CALL_NAME = re.compile(r"(?:^|[^\w$.])([A-Za-z_$~][\w$]*)\s*(?:<[^(){};]*>)?\s*\(")
STRUCTURAL = frozenset("{}()[];")


def mine_pairs(text: str, lang: str) -> list[dict]:
    """Comment–function pairs of one document, in source order.

    Each pair: instruction, response, name, line_start, line_end (1-based lines of the whole function with its
    comment). Raises SyntaxError (or ValueError) for Python that `ast` cannot parse.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if lang == "python":
        return python_pairs(text)
    if lang in BRACE_LANGUAGES:
        return brace_pairs(text, lang)
    return []


def _skip_name(name: str) -> bool:
    return "test" in name.lower() or (name.startswith("__") and name.endswith("__"))


def _dedent(lines: list[str], indent: str) -> str:
    """Remove the function's indentation; a line indented less (inside a multi-line string) stays as it is."""
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line.rstrip() for line in lines)


def _words(comment: str) -> int:
    return len(WORD.findall(XML_TAG.sub(" ", comment)))


def _code_lines(lines: list[str], comment_prefixes: tuple[str, ...]) -> int:
    return sum(1 for line in lines if line.strip() and not line.strip().startswith(comment_prefixes))


def python_pairs(text: str) -> list[dict]:
    """Functions with a docstring: instruction = decorators + signature + docstring, response = the rest."""
    lines = text.split("\n")
    pairs = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or _skip_name(node.name):
            continue
        doc = ast.get_docstring(node, clean=False)
        if doc is None or _words(doc) < MIN_COMMENT_WORDS or len(node.body) < 2:
            continue
        doc_end = node.body[0].end_lineno
        if node.body[1].lineno <= doc_end:  # `"""doc"""; x = 1`
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        indent = lines[node.lineno - 1][: node.col_offset]
        body = lines[doc_end : node.end_lineno]
        while body and not body[0].strip():
            body = body[1:]
        if _code_lines(body, ("#",)) < MIN_BODY_LINES:
            continue
        pairs.append(
            {
                "instruction": _dedent(lines[start - 1 : doc_end], indent),
                "response": _dedent(body, indent),
                "name": node.name,
                "line_start": start,
                "line_end": node.end_lineno,
            }
        )
    return sorted(pairs, key=lambda p: p["line_start"])


@lru_cache(maxsize=len(BRACE_LANGUAGES))
def _tokens(lang: str) -> re.Pattern:
    """Strings, character literals and comments (matched to be skipped) or one structural character."""
    parts = [r"//[^\n]*", r"/\*.*?(?:\*/|\Z)", r'"""(?:\\.|[^\\])*?(?:"""|\Z)']
    if lang == "rust":
        parts.insert(0, r'\br(?P<hashes>#*)"(?:.*?)(?:"(?P=hashes)|\Z)')
    if lang == "cpp":
        parts.insert(0, r'\bR"(?P<delim>[^(\s]{0,16})\((?:.*?)(?:\)(?P=delim)"|\Z)')
    if lang == "csharp":
        parts.insert(0, r'@"(?:[^"]|"")*(?:"|\Z)')
    if lang == "php":
        parts.append(r"#(?!\[)[^\n]*")
    parts.append(r'"(?:\\.|[^"\\\n])*"?')
    if lang in ("typescript", "php"):
        parts.append(r"'(?:\\.|[^'\\\n])*'?")
    else:
        parts.append(r"'(?:\\[^'\n]{1,10}|[^'\\\n])'")  # a char literal; a Rust lifetime ('a) is not one
    if lang == "typescript":
        parts.append(r"`(?:\\.|[^`\\])*`?")
    parts.append(r"[{}()\[\];]")
    return re.compile("|".join(parts), re.S)


def _structure(text: str, start: int, lang: str) -> Iterator[tuple[int, str]]:
    for m in _tokens(lang).finditer(text, start):
        if m.end() - m.start() == 1 and m.group() in STRUCTURAL:
            yield m.start(), m.group()


def _comment_block(lines: list[str], i: int) -> int | None:
    """End (exclusive line index) of a doc comment block starting at line i, or None."""
    s = lines[i].strip()
    if s.startswith(("/**", "/*!")):
        for j in range(i, len(lines)):
            tail = lines[j].split("*/", 1) if j > i else lines[j].strip()[3:].split("*/", 1)
            if len(tail) == 2:
                return j + 1 if not tail[1].strip() else None  # `/** x */ int f() {` is not mined
        return None
    if s.startswith("//") and not s.startswith("//!"):
        j = i
        while j < len(lines) and lines[j].strip().startswith("//") and not lines[j].strip().startswith("//!"):
            j += 1
        return j
    return None


def _function_name(signature: str, lang: str) -> str | None:
    """The defined function's name, or None if the signature is no function definition."""
    code = "\n".join(
        line for line in signature.split("\n") if not line.strip().startswith(("@", "#[", "["))
    )  # annotations and attributes
    if not code.strip() or code.split()[0] in CONTROL:
        return None
    arrow = ARROW_NAME.search(code)
    m = arrow or CALL_NAME.search(code)
    if m is None:
        return None
    name, prefix = m.group(1), code[: m.start(1)]
    if name in CONTROL or DECLARATIONS.search(prefix):
        return None
    if not arrow and re.search(r"(?<![=!<>])=(?![=>])", prefix):
        return None  # an assignment of a call's result
    if name in CONSTRUCTORS or name.startswith(("~", "__")) or _skip_name(name):
        return None
    if re.search(rf"\b{re.escape(name)}::{re.escape(name)}\s*\(", code):
        return None  # C++ Foo::Foo(...)
    words = re.findall(r"[\w$]+", prefix)
    if lang in ("java", "csharp", "cpp") and set(words) <= MODIFIERS:
        return None  # no return type: a constructor (or a macro call such as TEST(a, b))
    return name


def brace_pairs(text: str, lang: str) -> list[dict]:
    """Doc comment directly above a function whose body is a balanced `{...}`."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    pairs = []
    i = 0
    while i < len(lines):
        end = _comment_block(lines, i)
        if end is None:
            i += 1
            continue
        pair = _brace_pair(text, lines, offsets, i, end, lang) if end < len(lines) else None
        if pair is None:
            i = end
            continue
        pairs.append(pair)
        i = pair["line_end"]
    return pairs


def _brace_pair(text: str, lines: list[str], offsets: list[int], first: int, sig: int, lang: str) -> dict | None:
    if not lines[sig].strip():
        return None  # not directly above
    limit = offsets[min(sig + MAX_SIGNATURE_LINES, len(lines) - 1)]
    depth = 0  # of () and []
    body_depth = 0
    open_line = None
    for pos, ch in _structure(text, offsets[sig], lang):
        if open_line is None:
            if pos >= limit:
                return None
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth != 0 or ch in ";}":
                return None  # a call taking a callback, a declaration, the end of a block
            else:  # the `{` opening the body
                open_line = bisect.bisect_right(offsets, pos) - 1
                rest = text[pos + 1 : offsets[open_line + 1] if open_line + 1 < len(offsets) else len(text)]
                if rest.strip() and not rest.strip().startswith("//"):
                    return None  # a one-line body
                body_depth = 1
            continue
        if ch == "{":
            body_depth += 1
        elif ch == "}":
            body_depth -= 1
            if body_depth == 0:
                close_line = bisect.bisect_right(offsets, pos) - 1
                if text[offsets[close_line] : pos].strip():
                    return None  # `... }` ends a line that has code
                return _make_pair(lines, first, sig, open_line, close_line, lang)
    return None


def _make_pair(lines: list[str], first: int, sig: int, open_line: int, close_line: int, lang: str) -> dict | None:
    comment = "\n".join(lines[first:sig])
    if _words(comment.replace("/**", " ").replace("*/", " ")) < MIN_COMMENT_WORDS:
        return None
    name = _function_name("\n".join(lines[sig : open_line + 1]).rstrip().removesuffix("{"), lang)
    if name is None:
        return None
    body = lines[open_line + 1 : close_line + 1]
    if _code_lines(body[:-1], ("//", "/*", "*", "#")) < MIN_BODY_LINES:
        return None
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    return {
        "instruction": _dedent(lines[first : open_line + 1], indent),
        "response": _dedent(body, indent),
        "name": name,
        "line_start": first + 1,
        "line_end": close_line + 1,
    }

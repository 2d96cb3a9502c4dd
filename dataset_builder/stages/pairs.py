"""Direct-finetuning variant (paper §4.2, Table 6): comment–function pairs mined from the seed documents.

The paper follows CodeSearchNet to mine comment–function pairs from the same seed documents, trains the model to
predict a function's body from its signature and comment, takes first the pairs that overlap a seed snippet (about
11K) and fills up to the size of OSS-Instruct (75K) from the rest of the documents. This stage writes every pair,
those overlapping their document's seed snippet first (`overlaps_seed`), so the paper's set is the first N rows.

A pair: `instruction` = the function's decorators/annotations, signature and comment exactly as in the source (Python:
the docstring inside the function; other languages: the comment block directly above it), `response` = the rest of
the function, so `instruction + "\\n" + response` is the function's text (dedented). Filters, after CodeSearchNet:

- the comment has at least `MIN_COMMENT_WORDS` words (CodeSearchNet: docstrings under 3 tokens);
- the body has at least `MIN_BODY_LINES` lines of code, not blank, not comments, not the closing brace
  (CodeSearchNet drops functions under 3 lines: a signature and 2 body lines);
- no names containing "test", no `__dunder__` methods, no constructors/destructors; test files are skipped by path;
- exact duplicates (whitespace-normalised instruction and response) are dropped, the first one kept.

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
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.base import Stage

logger = logging.getLogger(__name__)

MIN_COMMENT_WORDS = 3
MIN_BODY_LINES = 2
MAX_SIGNATURE_LINES = 12
BRACE_LANGUAGES = ("java", "cpp", "csharp", "typescript", "rust", "php", "swift")
PAIR_COLUMNS = ("instruction", "response", "lang", "source", "path", "raw_index", "line_start", "line_end")
OUTPUT_COLUMNS = (*PAIR_COLUMNS, "overlaps_seed")
REJECT_COLUMNS = (*PAIR_COLUMNS, "reason")

WORD = re.compile(r"[^\W_]+")
XML_TAG = re.compile(r"</?\w+[^<>]*>")
TEST_PATH = re.compile(
    r"(^|/)(tests?|__tests__|specs?|testing)/|(^|/)test_[^/]*$|_tests?\.\w+$|Tests?\.\w+$|\.(test|spec)\.\w+$"
)
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


# --------------------------------------------------------------------------------------------------------------
# Mining
# --------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------
# Stage
# --------------------------------------------------------------------------------------------------------------


def _document_root(config: BuilderConfig) -> Path:
    from dataset_builder.stages.seeds import resolve_corpus

    kind, location = resolve_corpus(config)
    if kind not in ("directory", "quickstart"):
        raise ConfigError(
            f"pairs: the {kind} corpus {config.corpus!r} cannot be re-read: seed rows keep no way back to their whole "
            "document for Hub or file corpora. Use a local folder (or the quickstart corpus) for this variant."
        )
    return Path(location)


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(" ".join(part.split()).encode("utf-8", "surrogatepass") + b"\0")
    return h.digest()


def _snippet_matches(text: str, seed: str, line_start: int, line_end: int) -> bool:
    """The document still holds the seed where the seeds stage took it (the corpus has not changed since)."""
    chunk = "".join(text.splitlines(keepends=True)[line_start - 1 : line_end])
    return chunk.removesuffix("\n").removesuffix("\r") == seed


def run(config: BuilderConfig, run_dir: RunDir, upstream: RunDir) -> None:
    import shutil

    from datasets import Dataset, Features, Value, concatenate_datasets
    from tqdm.auto import tqdm

    from dataset_builder.stages.seeds import check_document

    root = _document_root(config)
    seeds = upstream.load()
    documents = DropCounter()
    doc_rejects: list[dict] = []

    def reject(seed: dict, reason: str) -> None:
        documents.drop(reason)
        doc_rejects.append({k: seed.get(k) for k in PAIR_COLUMNS} | {"reason": reason})

    def generate():
        for seed in tqdm(seeds, desc="pairs: mining", unit="doc", dynamic_ncols=True):
            path, lang = seed["path"], seed["lang"]
            if TEST_PATH.search(path):
                reject(seed, "test_file")
                continue
            if lang != "python" and lang not in BRACE_LANGUAGES:
                reject(seed, "unsupported_language")
                continue
            try:
                text, reason = check_document((root / path).read_bytes(), config)
            except OSError:
                text, reason = None, "unreadable"
            if text is not None and not _snippet_matches(text, seed["seed"], seed["line_start"], seed["line_end"]):
                text, reason = None, "document_changed"
            found = []
            if text is not None:
                try:
                    found = mine_pairs(text, lang)
                except (SyntaxError, ValueError):  # ast: invalid (e.g. Python 2) source, null bytes
                    reason = "unparseable"
                else:
                    reason = None if found else "no_pairs"
            if reason is not None:
                reject(seed, reason)
                continue
            documents.keep()
            for pair in found:
                overlaps = pair["line_start"] <= seed["line_end"] and pair["line_end"] >= seed["line_start"]
                yield {
                    "instruction": pair["instruction"],
                    "response": pair["response"],
                    "lang": lang,
                    "source": seed["source"],
                    "path": path,
                    "raw_index": seed["raw_index"],
                    "line_start": pair["line_start"],
                    "line_end": pair["line_end"],
                    "overlaps_seed": overlaps,
                }

    types = {"raw_index": "int64", "line_start": "int64", "line_end": "int64", "overlaps_seed": "bool"}
    features = Features({k: Value(types.get(k, "string")) for k in OUTPUT_COLUMNS})
    cache = run_dir.path / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    mined = Dataset.from_generator(generate, features=features, cache_dir=str(cache), fingerprint=run_dir.fingerprint)

    # the paper's priority: pairs overlapping a seed snippet first; then exact duplicates dropped, first one kept
    overlaps = mined["overlaps_seed"]
    order = [i for i, o in enumerate(overlaps) if o] + [i for i, o in enumerate(overlaps) if not o]
    pairs = DropCounter()
    seen: set[bytes] = set()
    kept_at, duplicate_at = [], []
    for start in range(0, len(order), 1_000):
        chunk = order[start : start + 1_000]
        batch = mined.select(chunk).select_columns(["instruction", "response"])[:]
        for i, instruction, response in zip(chunk, batch["instruction"], batch["response"], strict=True):
            key = _digest(instruction, response)
            if key in seen:
                pairs.drop("duplicate_pair")
                duplicate_at.append(i)
            else:
                pairs.keep()
                seen.add(key)
                kept_at.append(i)
    dataset = mined.select(kept_at)

    reject_features = Features({k: features[k] for k in PAIR_COLUMNS} | {"reason": Value("string")})
    duplicates = mined.select(duplicate_at).select_columns(list(PAIR_COLUMNS))
    duplicates = duplicates.add_column("reason", ["duplicate_pair"] * len(duplicate_at), feature=Value("string"))
    docs = Dataset.from_dict({k: [r[k] for r in doc_rejects] for k in REJECT_COLUMNS}, features=reject_features)
    rejects = concatenate_datasets([docs, duplicates.cast(reject_features)])

    # rows in: the seed documents; rows out: the pairs; dropped: documents and duplicate pairs, as in rejects/
    counts = DropCounter(kept=len(dataset), dropped=documents.dropped + pairs.dropped, rows_in=len(seeds))
    overlapping = sum(dataset["overlaps_seed"])
    run_dir.save(
        dataset,
        rejects,
        counts,
        documents={"seen": len(seeds), **documents.as_dict()},
        pairs=pairs.as_dict(),
        overlapping_seed=overlapping,
        per_language=dict(sorted(Counter(dataset["lang"]).items())),
    )
    shutil.rmtree(cache, ignore_errors=True)
    logger.info(
        "pairs: %d pairs (%d overlapping a seed) from %s documents; %s -> %s",
        len(dataset),
        overlapping,
        documents.summary(),
        pairs.summary(),
        run_dir.dataset_path,
    )


class Pairs(Stage):
    """Mines comment-function pairs from the seeds' documents (the paper's Table 6)."""

    name = "pairs"
    version = 1
    run = staticmethod(run)

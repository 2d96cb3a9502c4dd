"""Rust: one file, main.rs, compiled with rustc (no libtest): the executor's runner module (`runners/rust_runner.rs`),
the solution (its `fn main` renamed), the tests, and a `fn main` that hands the runner the tests' own `main` and
their `#[test]` functions.

The tests are read with a small tokenizer (comments, strings and char literals skipped) and rewritten so that they
run the same without libtest and so that the solution cannot change what their checks mean:
- `#[cfg(test)]` is dropped (nothing is compiled with `--test`; a solution's own test module stays out);
- each `#[test]` function (with `#[should_panic]`/`#[ignore]`, which are read and dropped) is made `pub(crate)`, and
  so is every module holding one, so that the runner can call it; a `#[test] fn main` in a module is a test;
- a top-level `fn main` becomes `oss_tests_main`, which the runner calls first;
- std's macros (`assert_eq!`, `assert!`, `panic!`, `vec!`, ...) are called by absolute path (`::std::assert_eq!`):
  a macro of the same name in the solution (`macro_rules!`, `#[macro_export]`, a `use` of one) cannot stand in;
- `std::process::exit(N)` stops the tests there, as the runner's own exit: 0 lets the run go on, as a return would
  (the call carries a secret the solution cannot name, so the solution calling it is an exit like any other).

The runner's module ends with the row's part (`pub fn main`, which hands the runner the test functions, and the
secret); only that `main` and `tests_exit` are visible outside it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dataset_builder.execution import binaries
from dataset_builder.execution.languages.base import Language, Plan, drop_repeated, runner_source

_RUST_MAIN = re.compile(r"^(\s*)(?:pub\s+)?fn\s+main\s*\(", re.MULTILINE)
_INNER_ATTRIBUTE = re.compile(r"^#!\[[^\n]*\][ \t]*$", re.MULTILINE)  # at column 0: the crate's, not a module's
STD_MACROS = frozenset(
    "assert assert_eq assert_ne debug_assert debug_assert_eq debug_assert_ne panic unreachable todo unimplemented "
    "vec format matches write writeln print println eprint eprintln".split()
)
TESTS_MAIN = "oss_tests_main"
RUNNER_LINTS = "#[allow(dead_code, unused_imports, non_upper_case_globals, unsafe_code, warnings)]"


def find() -> dict[str, str] | None:
    """The real rustc: rustup's `rustc` is a proxy that needs HOME/RUSTUP_HOME, so ask it for its sysroot."""
    for path in binaries.candidates("rustc"):
        probe = subprocess.run([str(path), "--print", "sysroot"], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            continue
        real = Path(probe.stdout.strip()) / "bin" / "rustc"
        if real.is_file() and binaries.reachable(real):
            return {"rustc": str(real)}
    return None


# ------------------------------------------------------------------------------------------------------- tokens
_IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][A-Za-z0-9_]*")
_RAW_STRING = re.compile(r'b?r(#*)"')


@dataclass
class Token:
    kind: str  # ident, punct, literal, lifetime
    text: str
    start: int
    end: int


def tokens(source: str) -> list[Token]:
    """Rust tokens, enough to find items, attributes and macro calls (comments dropped, literals kept whole)."""
    out, i, n = [], 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
        elif source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if source.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif source.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif (raw := _RAW_STRING.match(source, i)) is not None:
            close = '"' + raw.group(1)
            end = source.find(close, raw.end())
            end = n if end < 0 else end + len(close)
            out.append(Token("literal", source[i:end], i, end))
            i = end
        elif c == '"' or source.startswith('b"', i):
            j = i + (2 if c == "b" else 1)
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(Token("literal", source[i : j + 1], i, j + 1))
            i = j + 1
        elif c == "'" or source.startswith("b'", i):
            j = i + (2 if c == "b" else 1)
            if j < n and source[j] == "\\":
                end = source.find("'", j + 2)
                end = n if end < 0 else end + 1
                out.append(Token("literal", source[i:end], i, end))
                i = end
            elif j + 1 < n and source[j + 1] == "'":
                out.append(Token("literal", source[i : j + 2], i, j + 2))
                i = j + 2
            else:
                word = _IDENT.match(source, j)
                end = word.end() if word else j
                out.append(Token("lifetime", source[i:end], i, end))
                i = max(end, i + 1)
        elif (word := _IDENT.match(source, i)) is not None:
            out.append(Token("ident", word.group(0), i, word.end()))
            i = word.end()
        elif (number := _NUMBER.match(source, i)) is not None:
            out.append(Token("literal", number.group(0), i, number.end()))
            i = number.end()
        else:
            out.append(Token("punct", c, i, i + 1))
            i += 1
    return out


# --------------------------------------------------------------------------------------------------- the tests
@dataclass
class TestFn:
    path: str  # module path from the crate root, e.g. tests::adds
    should_panic: bool = False
    expected: str = '""'  # a Rust string literal
    ignore: bool = False


@dataclass
class Rewritten:
    source: str
    tests: list[TestFn] = field(default_factory=list)
    has_main: bool = False


def _attribute_end(toks: list[Token], i: int) -> int:
    """The index just past the `]` closing the attribute whose `#` is toks[i]."""
    depth = 0
    for j in range(i + 1, len(toks)):
        if toks[j].text == "[":
            depth += 1
        elif toks[j].text == "]":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(toks)


def rewrite_tests(source: str, secret: int = 0) -> Rewritten:
    """The tests as the runner needs them (see the module's docstring), with their test functions and `main`;
    `secret` goes with their exit calls (the runner's `tests_exit` knows it; the solution cannot name it)."""
    toks = tokens(source)
    edits: list[tuple[int, int, str]] = []
    result = Rewritten(source)
    modules: list[tuple[str, int, int]] = []  # (name, depth inside it, index of the `mod` token)
    publish: set[int] = set()  # indexes of `mod` tokens to make pub(crate)
    depth, attrs, item_start, i = 0, [], None, 0
    while i < len(toks):
        tok = toks[i]
        if tok.text == "#" and i + 1 < len(toks) and toks[i + 1].text in ("[", "!"):
            end = _attribute_end(toks, i)
            if toks[i + 1].text == "[":
                inner = toks[i + 2 : end - 1]
                name = inner[0].text if inner else ""
                attrs.append((name, inner, i, end))
                if item_start is None:
                    item_start = i
                if name == "cfg" and [t.text for t in inner[1:]] == ["(", "test", ")"]:
                    edits.append((tok.start, toks[end - 1].end, ""))
            i = end
            continue
        if tok.kind == "ident" and tok.text == "mod" and i + 2 < len(toks) and toks[i + 2].text == "{":
            modules.append((toks[i + 1].text, depth + 1, i))
        elif tok.kind == "ident" and tok.text == "fn" and i + 1 < len(toks):
            _function(toks, i, attrs, item_start, modules, depth, edits, result, publish)
        elif tok.kind == "ident" and tok.text in STD_MACROS and _macro_call(toks, i):
            edits.append((tok.start, tok.start, "::std::"))
        elif tok.kind == "ident" and tok.text == "exit" and _process_exit(toks, i) is not None:
            first = _process_exit(toks, i)
            edits.append((toks[first].start, toks[i + 1].end, f"crate::oss_runner::tests_exit({secret}, "))
        if tok.text == "{":
            depth += 1
        elif tok.text == "}":
            if modules and modules[-1][1] == depth:
                modules.pop()
            depth -= 1
        if tok.text in ("{", "}", ";") or (tok.kind == "ident" and tok.text in ("fn", "mod", "struct", "enum")):
            attrs, item_start = [], None
        i += 1
    for index in publish:
        if index == 0 or toks[index - 1].text not in ("pub", ")"):
            edits.append((toks[index].start, toks[index].start, "pub(crate) "))
    out, at = [], 0
    for start, end, text in sorted(edits):
        out.append(source[at:start] + text)
        at = max(at, end)
    result.source = "".join(out) + source[at:]
    return result


def _function(toks, i, attrs, item_start, modules, depth, edits, result, publish) -> None:
    name = toks[i + 1]
    names = [a[0] for a in attrs]
    if "test" in names:
        test = TestFn("::".join([m[0] for m in modules] + [name.text]))
        for attr, inner, start, end in attrs:
            if attr == "should_panic":
                test.should_panic = True
                literal = [t for t in inner if t.kind == "literal" and t.text.startswith(('"', "r"))]
                test.expected = literal[0].text if literal else '""'
            elif attr == "ignore":
                test.ignore = True
            if attr in ("test", "should_panic", "ignore"):
                edits.append((toks[start].start, toks[end - 1].end, ""))
        result.tests.append(test)
        first = item_start if item_start is not None else i
        while first < i and toks[first].text == "#":
            first = _attribute_end(toks, first)
        if modules and toks[first].text != "pub":
            edits.append((toks[first].start, toks[first].start, "pub(crate) "))
        publish.update(m[2] for m in modules)
    elif name.text == "main" and not modules and depth == 0:
        edits.append((name.start, name.end, TESTS_MAIN))
        result.has_main = True


def _macro_call(toks: list[Token], i: int) -> bool:
    """toks[i] is the name of a macro call that resolves by scope (not already a path, not a method)."""
    if i + 1 >= len(toks) or toks[i + 1].text != "!" or i + 2 >= len(toks) or toks[i + 2].text not in "([{":
        return False
    before = toks[i - 1].text if i else ""
    return before not in (":", ".", "$") and not (before == "!" and i >= 2 and toks[i - 2].text == "macro_rules")


def _process_exit(toks: list[Token], i: int) -> int | None:
    """The index of the first token of `[::][std::]process::exit` ending at toks[i], followed by `(`."""
    if i + 1 >= len(toks) or toks[i + 1].text != "(":
        return None
    words = [t.text for t in toks[max(0, i - 7) : i + 1]]
    for path in (["std", ":", ":", "process", ":", ":", "exit"], ["process", ":", ":", "exit"]):
        if words[-len(path) :] == path:
            first = i - len(path) + 1
            if first >= 2 and toks[first - 1].text == ":" and toks[first - 2].text == ":":
                first -= 2
            return first
    return None


# --------------------------------------------------------------------------------------------------- the layout
def _hoisted(*sources: str) -> tuple[list[str], list[str]]:
    """Inner attributes (`#![allow(...)]`) moved to the top of main.rs, where rustc needs them; the sources without."""
    # `forbid` would forbid the runner's own `allow(unsafe_code)`: `deny` says the same to the row's code
    found = [
        re.sub(r"#!\[\s*forbid\b", "#![deny", m.group(0).strip())
        for s in sources
        for m in _INNER_ATTRIBUTE.finditer(s)
    ]
    return list(dict.fromkeys(found)), [_INNER_ATTRIBUTE.sub("", s) for s in sources]


def main_rs(solution: str, tests: str) -> str:
    solution = _RUST_MAIN.sub(r"\1#[allow(dead_code)] fn oss_solution_main(", solution)
    inner, (solution, tests) = _hoisted(solution, drop_repeated(tests, solution, "use "))
    # the same row gets the same secret (the compile marker holds); the solution's text cannot contain it
    secret = int(hashlib.sha256(f"{solution}\0{tests}".encode()).hexdigest()[:15], 16)
    rewritten = rewrite_tests(tests, secret)
    entry = f"::std::option::Option::Some(entry(crate::{TESTS_MAIN}))"
    lines = [f"const SECRET: u64 = {secret};", "", "pub fn main() {", "    let mut tests = ::std::vec::Vec::new();"]
    for t in rewritten.tests:
        lines.append(
            f'    tests.push(test("{t.path}", crate::{t.path}, {str(t.should_panic).lower()}, {t.expected}, '
            f"{str(t.ignore).lower()}));"
        )
    main = entry if rewritten.has_main else "::std::option::Option::None"
    lines += [f"    run({main}, tests);", "}"]
    runner = f"{RUNNER_LINTS}\nmod oss_runner {{\n{runner_source('rust_runner.rs')}\n{chr(10).join(lines)}\n}}"
    parts = ["\n".join(inner), runner, solution, rewritten.source, "fn main() {\n    crate::oss_runner::main();\n}"]
    return "\n\n".join(parts) + "\n"


def plan(tc: dict[str, str], solution: str, tests: str, limits, compile_limits) -> Plan:
    argv = [tc["rustc"], "--edition", "2021", "-o", "main", "main.rs"]
    return Plan({"main.rs": main_rs(solution, tests)}, argv, ["./main"], reports=True)


LANGUAGE = Language(
    name="rust",
    command="rustc",
    install="apt-get install -y rustc",
    version_label="rustc",
    find=find,
    version_argv=lambda tc: [tc["rustc"], "--version"],
    plan=plan,
    patterns=(
        (r"memory allocation of \d+ bytes failed", "memory"),
        (r"assertion failed|assertion `left [=!]= right` failed", "fail"),
        (r"panicked at", "runtime_error"),
    ),
)

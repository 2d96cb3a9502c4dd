"""Fenced code blocks in a teacher's markdown: the solution's code and the tests' code that the executor runs.

Fences follow CommonMark: a line of at least three backticks or tildes opens a block, whose info string's first word
names the language (`python title="x.py"` -> python); only a line of the same character, at least as long and with
nothing after it, closes it, so a block may hold shorter fences (a ```` block quoting a ``` one). A fence left open at
the end of the text runs to the end (an answer cut off, or a teacher that forgot to close it): the code is still there.
"""

from __future__ import annotations

import re

from dataset_builder.languages import canonical

OPEN = re.compile(r"^(?P<indent> {0,3})(?P<marker>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
# Info strings teachers write for the nine languages, beyond `languages.canonical` (py, c++, cs, ts, sh, bash, ...).
FENCE_ALIASES = {
    "python3": "python",
    "py3": "python",
    "cc": "cpp",
    "cxx": "cpp",
    "hpp": "cpp",
    "h++": "cpp",
    "rs": "rust",
    "zsh": "shell",
    "shell-script": "shell",
    "tsx": "typescript",
}


def fence_language(info: str) -> str:
    """The canonical language an info string names ('' for none): its first word, `{.python}` braces dropped."""
    word = info.split(maxsplit=1)[0] if info.split() else ""
    word = word.strip("{}").lstrip(".").lower()
    word = word.split(",", 1)[0]  # `python,linenums`
    return FENCE_ALIASES.get(word, canonical(word)) if word else ""


def blocks(text: str) -> list[tuple[str, str]]:
    """(info string, code) of every fenced block, in order; an unclosed last block runs to the end of the text."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if m is None or (m["marker"][0] == "`" and "`" in m["info"]):  # a backtick fence's info has no backtick
            i += 1
            continue
        marker, indent = m["marker"], len(m["indent"])
        close = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
        body = []
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            line = lines[i]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])  # the opening fence's indent
            i += 1
        found.append((m["info"], "\n".join(body)))
        i += 1  # past the closing fence
    return found


def code_in(text: str | None, language: str) -> str | None:
    """The code of the blocks in `language` (canonical name), joined with a blank line; None when there is none.

    Blocks labelled with the language come first: unlabelled blocks are taken only when no block is labelled with it,
    so that a bare block of example output next to a ```python block does not end up in the program.
    """
    if not text:
        return None
    named, bare = [], []
    for info, code in blocks(text):
        lang = fence_language(info)
        if lang == language:
            named.append(code)
        elif not lang:
            bare.append(code)
    chosen = [code for code in named or bare if code.strip()]
    return "\n\n".join(code.strip("\n") for code in chosen) if chosen else None

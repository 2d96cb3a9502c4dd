"""File extension -> language, with the language names of the released OSS-Instruct dataset."""

from __future__ import annotations

import os
from pathlib import PurePath

EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".h": "c",
    ".c": "c",
    ".java": "java",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".cs": "csharp",
    ".rs": "rust",
    ".php": "php",
    ".swift": "swift",
    ".go": "go",
    ".rb": "ruby",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".lua": "lua",
    ".r": "r",
    ".jl": "julia",
    ".m": "objective-c",
    ".sql": "sql",
    ".dart": "dart",
    ".hs": "haskell",
    ".ex": "elixir",
    ".exs": "elixir",
    ".pl": "perl",
}

# Names people write in recipes -> the canonical names above.
ALIASES = {
    "c++": "cpp",
    "c#": "csharp",
    "c-sharp": "csharp",
    "cs": "csharp",
    "bash": "shell",
    "sh": "shell",
    "ts": "typescript",
    "js": "javascript",
    "py": "python",
    "python3": "python",
    "rs": "rust",
    "golang": "go",
}


def canonical(name: str) -> str:
    name = name.strip().lower()
    return ALIASES.get(name, name)


def extension_overrides(mapping: dict) -> dict[str, str]:
    """A recipe's extension -> language mapping (`{h: cpp}`, `{.H: c++}`) as `{".h": "cpp"}`."""
    table = {}
    for ext, lang in mapping.items():
        if not isinstance(ext, str) or not ext.strip(". ") or not isinstance(lang, str) or not lang.strip():
            raise ValueError(f"expected extension -> language such as {{h: cpp}}, got {ext!r}: {lang!r}")
        table["." + ext.strip().lstrip(".").lower()] = canonical(lang)
    return table


def from_path(
    path: str | PurePath, wanted: set[str] | frozenset[str] = frozenset(), overrides: dict[str, str] | None = None
) -> str | None:
    """The language of a file by its extension, or None. `overrides` (`extension_overrides`) come first; otherwise a
    C file (`.c`, `.h`) counts as C++ when C++ is wanted and C is not."""
    ext = os.path.splitext(path)[1].lower()
    if overrides and ext in overrides:
        return overrides[ext]
    lang = EXTENSIONS.get(ext)
    if lang == "c" and "c" not in wanted and "cpp" in wanted:
        return "cpp"
    return lang

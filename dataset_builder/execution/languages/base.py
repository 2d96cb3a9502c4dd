"""What a language is to the executor: how to find its toolchain, how a row's files are laid out and run, and how a
finished run's output maps to a status. One `Language` per module in this package, registered in `SPECS`.

The layout is what the tests prompt tells the teacher (`prompts.HARNESS`); keep both in sync.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Patterns are tried in order (memory before assertion before any other error), each over the whole output,
# line-anchored where the runtime prints the exception name at a line start.
Patterns = tuple[tuple[str, str], ...]


@dataclass
class Plan:
    """One row laid out for a toolchain: files to write into the row's folder, the compile step (None for an
    interpreter), the run step, and extra environment variables for both. `reports` is True when the run step is
    the executor's runner, which says on the verdict channel (`execution.verdict`) that the tests completed."""

    files: dict[str, str]
    compile: list[str] | None
    run: list[str]
    env: dict[str, str] = field(default_factory=dict)
    reports: bool = False

    def digest(self) -> str:
        """Identifies what a compile produced from (files + compile command); the compile marker stores it."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(f"{name}\0{self.files[name]}\0".encode())
        h.update("\0".join(self.compile or []).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class Language:
    """A language's entry in the table: `find()` returns its binaries ({role: absolute path}) or None;
    `version_argv(binaries)` prints its version; `plan(binaries, solution, tests, limits, compile_limits)` lays a row
    out (with `options=` too when the language names recipe options in `options`)."""

    name: str
    command: str  # what its toolchain is known by (the card names it when a build machine lacks it)
    install: str  # the command that installs it
    version_label: str
    find: Callable[[], dict[str, str] | None]
    version_argv: Callable[[dict[str, str]], list[str]]
    plan: Callable[..., Plan]
    patterns: Patterns = ()
    signals_crash: bool = True  # a crash signal means runtime_error unless a pattern says otherwise
    options: tuple[str, ...] = ()  # recipe options `plan` takes (as `options={name: value}`), e.g. a type-check mode


def mb(n: int) -> int:
    return max(16, n >> 20)


def drop_repeated(tests: str, solution: str, line_start: str) -> str:
    """The tests without lines starting with `line_start` that the solution already has (one file holds both)."""
    have = {line.strip() for line in solution.splitlines() if line.strip().startswith(line_start)}
    return "\n".join(line for line in tests.splitlines() if line.strip() not in have)


_ANY_TYPE = re.compile(r"\b(?:class|interface|enum|record|struct)\s+(\w+)")


def main_class(source: str, main: str) -> str | None:
    """The class whose body holds the first `main` method: the last type declared before it."""
    at = re.search(main, source)
    if at is None:
        return None
    names = [m.group(1) for m in _ANY_TYPE.finditer(source, 0, at.start())]
    return names[-1] if names else None


def runner_source(name: str) -> str:
    """The text of a runner shipped in `execution/runners/` (copied into each row's folder)."""
    from importlib import resources

    return resources.files("dataset_builder.execution.runners").joinpath(name).read_text(encoding="utf-8")

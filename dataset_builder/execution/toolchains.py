"""Per-language toolchains: where the compiler/interpreter is (`binaries`), how a row's files are laid out and run
(`languages`), and what a finished run means (`classify`; the verdict channel in `verdict` comes first).

The layout is what the tests prompt tells the teacher (`prompts.HARNESS`); keep both in sync.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from dataset_builder.execution import binaries
from dataset_builder.execution.languages import SPECS, Plan
from dataset_builder.execution.languages.base import Patterns
from dataset_builder.execution.languages.typescript import npm_hint

LANGUAGES = tuple(SPECS)
COMMANDS = {name: spec.command for name, spec in SPECS.items()}

__all__ = ["COMMANDS", "LANGUAGES", "Plan", "Toolchain", "find", "install_hint", "tools_dir"]

tools_dir = binaries.tools_dir


def install_hint(language: str) -> str:
    if language == "typescript":
        return npm_hint()
    return SPECS[language].install if language in SPECS else ""


@dataclass
class Toolchain:
    """A language's binaries (absolute paths), how to build and run a row, and how to read the outcome. `patterns`
    and `signals_crash` default to the language's."""

    language: str
    binaries: dict[str, str]
    version_label: str
    version_argv: list[str]
    patterns: Patterns | None = None
    signals_crash: bool | None = None

    def __post_init__(self) -> None:
        spec = SPECS[self.language]
        if self.patterns is None:
            self.patterns = spec.patterns
        if self.signals_crash is None:
            self.signals_crash = spec.signals_crash

    @property
    def version(self) -> str:
        return binaries.version(self.version_label, self.version_argv)

    def plan(self, solution: str, tests: str, limits, compile_limits=None, options=None) -> Plan:
        """`options`: recipe options by name ({"typescript_typecheck": "report"}); a language gets those it names."""
        spec = SPECS[self.language]
        args = (self.binaries, solution, tests, limits, compile_limits or limits)
        if not spec.options:
            return spec.plan(*args)
        return spec.plan(*args, options={k: v for k, v in (options or {}).items() if k in spec.options})

    def classify(self, returncode: int | None, sig: int | None, output: str) -> str:
        """The status of a finished run by its exit and output (timeouts and output caps are decided by the caller
        first; a run whose plan `reports` is never `pass` by this alone: see `verdict.decide`)."""
        if sig is None and returncode is not None and 128 < returncode < 128 + signal.NSIG:
            # bwrap (like a shell) reports a child killed by signal N as exit status 128 + N
            sig = returncode - 128
        if sig == signal.SIGXFSZ:
            return "output_limit"
        if sig == signal.SIGXCPU:
            return "timeout"
        if returncode == 0 and sig is None:
            return "pass"
        for pattern, status in self.patterns:
            if re.search(pattern, output, re.MULTILINE):
                return status
        if sig is not None and self.signals_crash:
            return "runtime_error"
        return "fail"


def find(language: str) -> Toolchain | None:
    """The language's toolchain, or None when it is not installed (or not usable by the sandbox's uid)."""
    spec = SPECS.get(language)
    found = spec.find() if spec else None
    if found is None:
        return None
    return Toolchain(language, found, spec.version_label, spec.version_argv(found))

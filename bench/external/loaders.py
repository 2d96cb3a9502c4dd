"""Benchmark rows as `Problem`s: the reference in the project's layout, the same row for the benchmark's own
harness, and the reason a row is excluded (never silently dropped).

The solution is what the benchmark calls the solution: the prompt (HumanEval-X C++ and Rust: the declaration, which
holds the includes/uses the references need; the Rust prompt has no signature at all) followed by the canonical
solution. The tests are the benchmark's test code, adapted only as the project's harness text
(`dataset_builder.prompts.HARNESS`) tells a teacher to write tests:

- Python: `from solution import *` first; MBPP's `check(candidate)` is followed by `check(<entry_point>)` (the call
  HumanEval-X's tests already end with; mxeval's harness appends the same call).
- JavaScript (HumanEval-X): `console.assert(...)` prints and goes on, so it becomes `assert(...)` from
  `import { strict as assert } from "node:assert"` (the harness text: throw, or use node's assert). CodeGeeX's own
  harness instead fails a run that prints anything, which `harness.py` keeps.
- PHP (MBXP): `<?php` in front of the tests (the harness text asks for it; MBXP's tests are a continuation).
- Rust (HumanEval-X): every declaration `use`s the crates `rand`, `regex` and `md5`; those lines are removed when
  neither the reference nor the tests use the crate (a row that does is excluded), in both layouts.
- C++, Java, TypeScript: the benchmark's tests unchanged (Java's test class keeps its name, `Main`).

Exclusions (counted per reason by the bench): an empty canonical solution; one whose braces never close the function
(430 of MBXP's TypeScript references are cut off mid-expression; tsc's error recovery then swallows the tests into
the never-called function, so mxeval's lenient harness "passes" them); a PHP reference containing `?>` (25 of MBXP's:
the benchmark's single file then prints its tests as text and exits 0); a third-party library, crate or package the
sandbox does not have (boost, -lcrypto, rand/regex/md5, js-md5, lodash, mathjs, heap-js, CompareNetObjects).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.execution.mutators import function_end

# (benchmark, language) -> file under the data folder; the language is the benchmark's own name
FILES = {
    ("humaneval-x", "cpp"): "humaneval-x/cpp.jsonl",
    ("humaneval-x", "java"): "humaneval-x/java.jsonl",
    ("humaneval-x", "js"): "humaneval-x/js.jsonl",
    ("humaneval-x", "python"): "humaneval-x/python.jsonl",
    ("humaneval-x", "rust"): "humaneval-x/rust.jsonl",
    ("mbxp", "cpp"): "mbxp/mbcpp_release_v1.2.jsonl",
    ("mbxp", "csharp"): "mbxp/mbcsp_release_v1.2.jsonl",
    ("mbxp", "java"): "mbxp/mbjp_release_v1.2.jsonl",
    ("mbxp", "js"): "mbxp/mbjsp_release_v1.2.jsonl",
    ("mbxp", "php"): "mbxp/mbphp_release_v1.2.jsonl",
    ("mbxp", "python"): "mbxp/mbpp_release_v1.jsonl",
    ("mbxp", "typescript"): "mbxp/mbtsp_release_v1.2.jsonl",
}
BENCHMARKS = ("humaneval-x", "mbxp")
USABLE_FIXTURES = 8  # usable rows per benchmark and language in tests/fixtures/external
LANGUAGES = ("cpp", "csharp", "java", "js", "php", "python", "rust", "typescript")
# the executor's language for a benchmark language (JavaScript runs through the TypeScript toolchain)
EXECUTOR_LANGUAGE = {"js": "typescript"}

# (pattern over prompt + reference + tests, reason): the first match excludes the row
_THIRD_PARTY = {
    "cpp": ((r"boost/", "third-party library: boost"), (r"openssl/|\bMD5\(", "third-party library: -lcrypto")),
    "rust": (
        (r"\brand::|\bRng\b|thread_rng", "external crate: rand"),
        (r"\bRegex\b|regex::", "external crate: regex"),
        (r"\bmd5::", "external crate: md5"),
    ),
    "js": (
        (r"""require\(\s*['"]js-md5['"]\s*\)""", "npm package: js-md5"),
        (r"""require\(\s*['"]lodash['"]\s*\)""", "npm package: lodash"),
    ),
    "csharp": ((r"KellermanSoftware\.CompareNetObjects|\bCompareLogic\b", "NuGet package: CompareNetObjects"),),
}
# a JavaScript/TypeScript module that is neither Node's own nor installed by the toolchains
_JS_MODULE = re.compile(
    r"""(?:^\s*import\b[^\n]*?\bfrom\s+|\brequire\(\s*|^\s*import\s+)['"]([^'"./][^'"]*)['"]""", re.M
)
_NODE_BUILTINS = {"assert", "buffer", "crypto", "events", "fs", "os", "path", "process", "readline", "util", "zlib"}
_RUST_CRATE_USE = re.compile(r"^\s*use\s+(?:rand|regex|md5)\b[^;]*;[ \t]*\n?", re.MULTILINE)
_PY_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    benchmark: str
    language: str  # the benchmark's name for it (js, not typescript)
    task_id: str
    prefix: str  # prompt or declaration: everything before the reference body
    body: str  # the canonical solution (what mutants change)
    tests: str  # the benchmark's tests in the project's layout
    own_tests: str  # what the benchmark's own harness appends to prompt + solution
    excluded: str | None = None  # why the row is not run (None: it is)

    @property
    def executor_language(self) -> str:
        return EXECUTOR_LANGUAGE.get(self.language, self.language)

    def solution(self, body: str | None = None) -> str:
        return self.prefix + (self.body if body is None else body)

    def job(self, key: int, body: str | None = None):
        from dataset_builder.execution.executor import Job

        return Job(key, self.executor_language, self.solution(body), self.tests)

    def own_program(self, body: str | None = None) -> str:
        """One file, as the benchmark's harness concatenates it: prompt + solution + test."""
        return f"{self.solution(body)}\n{self.own_tests}"


def default_data_dir() -> Path | None:
    """`shared/data` beside the checkout (or beside its parent, for a worktree one level down), else None."""
    root = Path(__file__).resolve().parents[2]
    for candidate in (root.parent / "shared" / "data", root.parent.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def fixtures_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "external"


def read_rows(data_dir: Path, benchmark: str, language: str) -> list[dict]:
    if (benchmark, language) not in FILES:
        known = ", ".join(f"{b}/{lang}" for b, lang in FILES)
        raise ValueError(f"no {benchmark} data for {language!r}: one of {known}")
    path = Path(data_dir) / FILES[benchmark, language]
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: pass --data with a folder laid out as /work/shared/data")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load(data_dir: Path, benchmark: str, language: str) -> list[Problem]:
    """Every row of one benchmark and language, usable or excluded with its reason, in file order."""
    return [problem(benchmark, language, row) for row in read_rows(data_dir, benchmark, language)]


def problem(benchmark: str, language: str, row: dict) -> Problem:
    body = row.get("canonical_solution") or ""
    if benchmark == "humaneval-x":
        prefix = row["declaration"] if language in ("cpp", "rust") else row["prompt"]
        tests = own = row["test"]
    else:
        prefix, tests, own = row["prompt"], row["test"], row["test"]
    excluded = None if body.strip() else "empty canonical_solution"
    text = prefix + body + tests
    for pattern, reason in _THIRD_PARTY.get(language, ()):
        if excluded is None and re.search(pattern, body + tests if language == "rust" else text):
            excluded = reason
    if excluded is None and language != "python" and function_end(body, language) is None:
        excluded = "canonical_solution truncated: it never closes the function"
    if excluded is None and language == "php" and "?>" in body:
        excluded = "canonical_solution leaves PHP mode (?>): the benchmark's harness prints its tests, never runs them"
    if excluded is None and language in ("js", "typescript"):
        modules = [m for m in _JS_MODULE.findall(text) if m.removeprefix("node:").split("/")[0] not in _NODE_BUILTINS]
        excluded = f"npm package: {modules[0]}" if modules else None
    if language == "python":
        entry = row.get("entry_point") or _last_def(row["declaration"])
        tests = f"from solution import *\n\n{tests}"
        if not re.search(rf"^check\(\s*{re.escape(entry)}\s*\)", tests, re.MULTILINE):
            tests += f"\n\ncheck({entry})\n"
            own += f"\n\ncheck({entry})\n"
    elif language == "js" and benchmark == "humaneval-x":
        tests = 'import { strict as assert } from "node:assert";\n' + re.sub(r"\bconsole\.assert\(", "assert(", tests)
    elif language == "php":
        tests = f"<?php\n{tests}"
    elif language == "rust":
        prefix = _RUST_CRATE_USE.sub("", prefix)
    return Problem(benchmark, language, row["task_id"], prefix, body, tests, own, excluded)


def _last_def(declaration: str) -> str:
    names = _PY_DEF.findall(declaration)
    if not names:
        raise ValueError(f"no function definition in the declaration: {declaration[:200]!r}")
    return names[-1]

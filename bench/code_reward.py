"""Benchmark: the GRPO code reward's throughput per language (`oss_rl.reward.CodeReward`, bubblewrap), a batch scored
in one call (its completions run on the reward's workers at once, as GRPOTrainer calls it) against the same
completions scored one call each.

Completions are bench/execution.py's sample solutions in a fenced block, each with its own constant so none is
shared; half are right for their tests and half wrong (a different constant), so the rewards must come out 1, 0,
1, 0, ... (checked). Printed per language: completions/s batched and one by one, and their ratio.

    python -m bench.code_reward [--completions 16] [--other-completions 4] [--languages python cpp ...] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.execution import LANGUAGES, SAMPLES


def batch(language: str, n: int) -> tuple[list[str], list[str], list[float]]:
    """n completions, tests and the rewards they must get: even ones right, odd ones wrong."""
    from dataset_builder import prompts

    fence = prompts.TEST_LANGUAGES[language][1]
    solution, tests = SAMPLES[language]
    completions, checks, expected = [], [], []
    for i in range(n):
        k = 3 + i  # each completion its own program
        got = k if i % 2 == 0 else k + 1
        completions.append(f"Solution:\n```{fence}\n{solution.replace('{k}', str(got)).strip()}\n```")
        checks.append(tests.replace("{k}", str(k)))
        expected.append(1.0 if i % 2 == 0 else 0.0)
    return completions, checks, expected


def measure(reward, language: str, n: int) -> tuple[float, float, bool]:
    """(completions/s batched, completions/s one by one, whether every reward was as expected)."""
    completions, tests, expected = batch(language, n)
    langs = [language] * n
    started = time.perf_counter()
    batched = reward(prompts=[""] * n, completions=completions, tests=tests, lang=langs)
    batch_s = time.perf_counter() - started
    started = time.perf_counter()
    pairs = zip(completions, tests, strict=True)
    single = [reward(prompts=[""], completions=[c], tests=[t], lang=[language])[0] for c, t in pairs]
    single_s = time.perf_counter() - started
    return n / batch_s, n / single_s, batched == expected and single == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", type=int, default=16, help="Python completions per measurement")
    parser.add_argument("--other-completions", type=int, default=4, help="completions of each other language")
    parser.add_argument("--languages", nargs="+", default=list(LANGUAGES), choices=LANGUAGES)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    from dataset_builder.execution import toolchains
    from oss_rl.reward import CodeReward

    reward = CodeReward(workers=args.workers)
    errors = 0
    print(f"workers: {args.workers}, cores: {os.cpu_count()}, sandbox: bubblewrap")
    print(
        "{:<11} {:>11} {:>16} {:>17} {:>6}".format("language", "completions", "batched /s", "one by one /s", "ratio")
    )
    try:
        for language in args.languages:
            if toolchains.find(language) is None:
                print(f"{language:<11} missing: {toolchains.install_hint(language)}")
                continue
            n = args.completions if language == "python" else args.other_completions
            batched, single, right = measure(reward, language, n)
            print(f"{language:<11} {n:>11} {batched:>16.1f} {single:>17.1f} {batched / single:>5.2f}x")
            if not right:
                errors += 1
                print(f"error: {language}: rewards differ from the planned 1, 0, 1, 0, ...", file=sys.stderr)
    finally:
        reward.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

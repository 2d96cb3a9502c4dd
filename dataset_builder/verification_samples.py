"""The dataset card's "Several solutions per problem" subsection of Verification (`solutions_per_problem` > 1): the
execute stage's `samples` stats as a table per language, which samples `verify_keep` published, the solutions prompt;
and the figure of a score's distribution per language (`plot_bins`: the pass rate here, the mutation score too)."""

from __future__ import annotations

from pathlib import Path

from dataset_builder.stages.execute_samples import BINS

PASS_RATE_FIGURE = "pass_rate.png"
MUTATION_FIGURE = "mutation_score.png"
KEEP = {
    "passed": "one row per problem whose sample 0 (the greedy answer) passed, with that answer",
    "all": "one row per problem, with sample 0 (the greedy answer) whatever its status",
    "best": "one row per problem with a passing sample, with the first sample that passed",
    "diverse": (
        "one row per passing sample that is not a near-duplicate of one kept before it (estimated Jaccard similarity "
        "of token 3-grams of the code >= `diverse_threshold` {threshold}), so a problem can have several rows"
    ),
}


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _int(n) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def samples_section(samples: dict, prompt: str | None = None, figure: str | None = None) -> list[str]:
    """The lines of the subsection, from stats.json's `samples` entry (and the solutions stage's user template)."""
    n, temperature = samples.get("solutions_per_problem"), samples.get("temperature")
    tests_from = samples.get("tests_from") or "solution"
    written = "the problem and its sample 0" if tests_from == "solution" else "the problem alone"
    lines = [
        (
            f"Each problem was solved {n} times: sample 0 is the answer written with the problem (the paper's "
            f"greedy answer), samples 1 to {n - 1} were asked of the teacher for the problem alone at temperature "
            f"{temperature} (`solutions_per_problem`, `solutions_temperature`). Every sample ran against the same "
            f"tests, written from {written} (`tests_from: {tests_from}`). Columns: `pass_rate` (passed / executed "
            "samples; a sample cut at max_tokens or without code counts as executed and failed), `samples_status` "
            "(each sample's status, sample 0 first), `samples` (every answer) and `kept_sample` (the sample in the "
            "row's `solution`: `samples[kept_sample] == solution`)."
        ),
        "",
    ]
    if figure:
        lines += [f"![Problems per pass rate, per language]({figure})", ""]
    header = ["language", "problems", "samples run", "sample 0 passed", "any sample passed", "samples passed"]
    header += [*(f"pass rate {b}" for b in BINS), "rows published"]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for lang, entry in sorted((samples.get("by_language") or {}).items()):
        bins = entry.get("bins") or {}
        cells = [lang, entry["problems"], entry["executed"], entry["first_passed"], entry["any_passed"]]
        cells += [entry["passed"], *(bins.get(b, 0) for b in BINS), entry["rows_published"]]
        lines.append("| " + " | ".join(_int(c) for c in cells) + " |")
    keep = samples.get("verify_keep") or "passed"
    what = KEEP.get(keep, keep).format(threshold=samples.get("diverse_threshold"))
    lines += ["", f"- Published (`verify_keep: {keep}`): {what}."]
    pairs = samples.get("preference")
    if pairs:
        rejected = ", ".join(f"{status} {n:,}" for status, n in pairs["by_rejected_status"].items())
        lines.append(
            f"- Preference pairs (the `preference` config, `preference_pairs_per_problem`): "
            f"{_n(pairs['pairs'], 'pair')} from {_n(pairs['problems'], 'problem')} with a passing and a failing "
            f"solution; the rejected answers' statuses: {rejected}."
        )
    if prompt:
        lines += ["- The solutions prompt's user message (after the paper's system message), verbatim:", ""]
        lines += ["````text", prompt.strip(), "````"]  # four backticks: the prompt holds a ``` fence
    return lines


def plot_bins(by_language: dict, title: str, xlabel: str, path: Path, key: str = "bins") -> Path:
    """Per language, the problems (or rows) in each bin of a score (`BINS`, the same for the pass rate and the
    mutation score), stacked horizontal bars from 0 (red) to 1 (green)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import ScaledTranslation

    langs = sorted(by_language)[::-1]  # first language on top
    fig, ax = plt.subplots(figsize=(8, 1.5 + 0.4 * max(len(langs), 1)))
    y = np.arange(len(langs))
    start = np.zeros(len(langs))
    colors = plt.get_cmap("RdYlGn")(np.linspace(0.05, 0.95, len(BINS)))
    for color, name in zip(colors, BINS, strict=True):
        values = np.array([(by_language[lang].get(key) or {}).get(name, 0) for lang in langs])
        ax.barh(y, values, left=start, color=color, label=name)
        start += values
    ax.set_yticks(y, langs)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(float(start.max(initial=0)) * 1.05, 1))
    below = ax.transAxes + ScaledTranslation(0, -0.5, fig.dpi_scale_trans)  # half an inch under the axes
    ax.legend(ncol=len(BINS), loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

"""The dataset card's "Verification" section, for a build whose lineage has an `execute` stage.

`report(runs, published)` gathers, as plain data kept in the card context (and so in `build.json`), what the section
says: the funnel per language (`funnel`), the execute stage's statuses per language, toolchains, sandbox, limits and
`verify_keep`, the tests' mutation scores (when `mutants_per_row` was set), the samples' pass rates (when
`solutions_per_problem` > 1), and the tests prompt. `plot` draws its figure; `verification_card` writes the section's
text. Counts per language come from the run folders' kept rows and rejects (`lang` column); the execute stage's own
`by_language` when it has one.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from dataset_builder import prompts
from dataset_builder.execution.executor import NOT_RUN, STATUSES  # in the order the card and figure show them
from dataset_builder.runs import RunDir

FIGURE = "verification.png"
STATUS_COLORS = {
    "pass": "#2e8b57",
    "fail": "#d62728",
    "compile_error": "#ff7f0e",
    "runtime_error": "#9467bd",
    "timeout": "#8c564b",
    "memory": "#e377c2",
    "output_limit": "#bcbd22",
    "no_toolchain": "#7f7f7f",
    "unsupported_language": "#c7c7c7",
}
# Funnel columns of the stages before `execute`, in chain order; a stage not named here is not a column.
STEP_LABELS = {
    "seeds": "seeds",
    "generate": "answers",
    "parse": "parsed",
    "source": "source rows",
    "tests": "with tests",
}
TOTAL = "all"  # the funnel's last row: every language


# --- counting -----------------------------------------------------------------------------------------------------


def _languages(path: Path, only_status: str | None = None) -> Counter | None:
    """Rows per `lang` of a saved dataset (only those with `exec_status == only_status` when given); None when
    it has no `lang` column (or, filtering, no `exec_status`)."""
    from datasets import load_from_disk

    if not path.exists():
        return None
    ds = load_from_disk(str(path))
    if "lang" not in ds.column_names:
        return None
    if only_status is None:
        return Counter(ds["lang"])
    if "exec_status" not in ds.column_names:
        return None
    return Counter(lang for lang, status in zip(ds["lang"], ds["exec_status"], strict=True) if status == only_status)


def statuses(execute: RunDir) -> dict[str, dict[str, int]]:
    """{lang: {exec_status: rows}} of the execute stage: its stats' `by_language`, else counted from its kept rows
    (`exec_status`) and rejects (`reason`, the row's status)."""
    from datasets import load_from_disk

    recorded = execute.stats().get("by_language")
    if recorded is not None:
        return {lang: dict(counts) for lang, counts in recorded.items()}
    found: dict[str, Counter] = {}
    for path, column in ((execute.dataset_path, "exec_status"), (execute.rejects_path, "reason")):
        if not path.exists():
            continue
        ds = load_from_disk(str(path))
        if len(ds) and {"lang", column} <= set(ds.column_names):
            for lang, status in zip(ds["lang"], ds[column], strict=True):
                found.setdefault(lang, Counter())[status] += 1
    return {lang: dict(counts) for lang, counts in found.items()}


def executed(counts: dict[str, int]) -> int:
    """Rows whose tests actually ran: every status but no_toolchain and unsupported_language."""
    return sum(n for status, n in counts.items() if status not in NOT_RUN)


def funnel(runs: list[RunDir], keep: str = "passed") -> dict:
    """{"columns": [...], "rows": [[language, count, ...], ..., ["all", ...]]}: rows per language at each step,
    from the first stage to the published rows (the last run folder's kept rows, after the stages that follow
    execute; with `keep` "all", only those that passed). A count is None where a stage's rows have no `lang` column; a
    language missing from a stage counts 0 there."""
    columns: list[str] = []
    counted: list[tuple[Counter | None, int | None]] = []  # per column: rows per language, total
    for run in runs:
        if run.stage == "execute":
            by = statuses(run)
            columns += ["executed", "passed"]
            counted.append((Counter({lang: executed(c) for lang, c in by.items()}), None))
            counted.append((Counter({lang: c.get("pass", 0) for lang, c in by.items()}), None))
            samples = (run.stats() if run.is_complete() else {}).get("samples")
            if samples:  # several solutions per problem: `passed` is sample 0's; this, any sample's
                columns.append(f"passed (any of {samples['solutions_per_problem']})")
                any_passed = {lang: entry["any_passed"] for lang, entry in samples["by_language"].items()}
                counted.append((Counter(any_passed), None))
            break
        if run.stage in STEP_LABELS:
            columns.append(STEP_LABELS[run.stage])
            counted.append((_languages(run.dataset_path), (run.stats() if run.is_complete() else {}).get("kept")))
    last = runs[-1]
    columns.append("published and passed" if keep == "all" else "published")
    published = _languages(last.dataset_path, "pass" if keep == "all" else None)
    counted.append((published, None if keep == "all" else len(last.load())))

    langs = sorted({lang for counts, _ in counted if counts for lang in counts})
    rows = [[lang, *(None if c is None else c.get(lang, 0) for c, _ in counted)] for lang in langs]
    rows.append([TOTAL, *(total if c is None else sum(c.values()) for c, total in counted)])
    return {"columns": columns, "rows": rows}


# --- the report ---------------------------------------------------------------------------------------------------


def _tests_prompt(tests: RunDir | None) -> dict | None:
    """The tests stage's teacher, usage and prompt as recorded in its fingerprint inputs (else the prompts module's,
    which made it: the inputs hash them)."""
    if tests is None:
        return None
    config = tests.config()
    inputs, recipe = config.get("fingerprint_inputs") or {}, config.get("recipe") or {}
    stats = tests.stats() if tests.is_complete() else {}

    def recorded(*names):
        return next((inputs[name] for name in names if name in inputs), None)

    return {
        "teacher": recorded("teacher_model") or recipe.get("teacher_model"),
        "max_tokens": recorded("tests_max_tokens", "max_tokens") or recipe.get("tests_max_tokens"),
        "usage": stats.get("usage"),
        "system_prompt": recorded("tests_system", "system_prompt") or getattr(prompts, "TESTS_SYSTEM", None),
        "user_template": recorded("problem_template", "tests_user_template", "user_template")
        or getattr(prompts, "TESTS_USER_TEMPLATE", None),
        "harness": recorded("tests_harness", "harness") or getattr(prompts, "HARNESS", None) or {},
    }


def report(runs: list[RunDir], published) -> dict | None:
    """Everything the Verification section says, as plain data; None without an execute stage in `runs`."""
    by_stage = {run.stage: run for run in runs}
    execute = by_stage.get("execute")
    if execute is None:
        return None
    stats = execute.stats() if execute.is_complete() else {}
    keep = stats.get("verify_keep") or execute.config().get("recipe", {}).get("verify_keep") or "passed"
    passed = (
        sum(status == "pass" for status in published["exec_status"])
        if "exec_status" in published.column_names
        else None
    )
    by_language = statuses(execute)
    tests = _tests_prompt(by_stage.get("tests"))
    if tests and isinstance(tests["harness"], dict):  # how tests run for the build's languages, not for all of them
        tests["harness"] = {lang: text for lang, text in tests["harness"].items() if lang in by_language}
    # only with `mutants_per_row` / `solutions_per_problem` > 1: a build without them keeps the card context
    # (build.json) it had
    optional = {"mutation": stats["mutation"]} if "mutation" in stats else {}
    if "samples" in stats:
        solutions = by_stage.get("solutions")
        inputs = solutions.config().get("fingerprint_inputs", {}) if solutions else {}
        optional["samples"] = stats["samples"] | {"prompt": inputs.get("user_template")}
    return (
        optional
        | {
            "pipeline": "verify" if "source" in by_stage else "oss_instruct_verified",
            "funnel": funnel(runs, keep),
            "statuses": by_language,
            "toolchains": stats.get("toolchains") or {},
            "sandbox": stats.get("sandbox"),
            "limits": stats.get("limits") or {},
            "row_limits": stats.get("row_limits"),  # what holds them: a cgroup per row, or rlimits per process
            "options": stats.get("options") or {},  # the languages' recipe options (typescript_typecheck)
            "verify_keep": keep,
            # the stages that filter rows after execute (analyze only reads them)
            "after": [run.stage for run in runs[runs.index(execute) + 1 :] if run.stage != "analyze"],
            "published_rows": len(published),
            "published_passed": passed,
            "tests": tests,
            "figure": None,  # set by publish once `plot` wrote it
        }
    )


# --- the figure -----------------------------------------------------------------------------------------------------


def plot(rep: dict, path: Path) -> Path:
    """Per language: the funnel as grouped horizontal bars (left) and the rows of each exec_status stacked (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import ScaledTranslation

    columns = rep["funnel"]["columns"]
    rows = [row for row in rep["funnel"]["rows"] if row[0] != TOTAL]
    langs = [row[0] for row in rows][::-1]  # first language on top
    shown = [i for i, _ in enumerate(columns) if all(row[i + 1] is not None for row in rows)]
    n = max(len(langs), 1)
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 2 + n * (0.12 * len(shown) + 0.25)), sharey=True, gridspec_kw={"width_ratios": [3, 2]}
    )
    y = np.arange(len(langs))
    height = 0.8 / max(len(shown), 1)
    colors = plt.get_cmap("viridis")(np.linspace(0.05, 0.9, max(len(shown), 1)))
    by_lang = {row[0]: row[1:] for row in rows}
    for k, i in enumerate(shown):  # the first step as the top bar of each group
        values = [by_lang[lang][i] for lang in langs]
        offset = (len(shown) - 1) / 2 - k
        left.barh(y + offset * height, values, height=height, color=colors[k], label=columns[i])
    left.set_yticks(y, langs)
    left.set_xlabel("Rows")
    left.set_title("Rows per language at each step")
    # legends half an inch below the axes (under the x label): inside, they would hide the longest bars
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, 0), "fontsize": 8}
    left.legend(ncol=4, bbox_transform=left.transAxes + ScaledTranslation(0, -0.5, fig.dpi_scale_trans), **below)

    found = [s for s in STATUSES if any(rep["statuses"].get(lang, {}).get(s) for lang in langs)]
    found += sorted({s for c in rep["statuses"].values() for s in c} - set(STATUSES))
    start = np.zeros(len(langs))
    for status in found:
        values = np.array([rep["statuses"].get(lang, {}).get(status, 0) for lang in langs])
        right.barh(y, values, left=start, color=STATUS_COLORS.get(status), label=status)
        start += values
    right.set_xlabel("Rows")
    right.set_title("exec_status per language")
    if found:
        right.legend(ncol=3, bbox_transform=right.transAxes + ScaledTranslation(0, -0.5, fig.dpi_scale_trans), **below)
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max(ax.get_xlim()[1] * 1.05, 1))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

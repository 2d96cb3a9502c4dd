"""The dataset card's "Verification" section, for a build whose lineage has an `execute` stage.

`report(runs, published)` gathers, as plain data kept in the card context (and so in `build.json`), what the section
says: the funnel per language (`funnel`), the execute stage's statuses per language, toolchains, sandbox, limits and
`verify_keep`, and the tests prompt. `plot` draws its figure and `card_section` renders it. Counts per language come
from the run folders' kept rows and rejects (`lang` column); the execute stage's own `by_language` when it has one.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dataset_builder import prompts
from dataset_builder.execution.executor import NOT_RUN, STATUSES  # in the order the card and figure show them
from dataset_builder.execution.toolchains import COMMANDS
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
# What the card names as missing for `no_toolchain` (the command execution.toolchains looks for first).
TOTAL = "all"


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
        "user_template": recorded("tests_user_template", "user_template")
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
    return {
        "pipeline": "verify" if "source" in by_stage else "oss_instruct_verified",
        "funnel": funnel(runs, keep),
        "statuses": by_language,
        "toolchains": stats.get("toolchains") or {},
        "sandbox": stats.get("sandbox"),
        "limits": stats.get("limits") or {},
        "row_limits": stats.get("row_limits"),  # what holds them: a cgroup per row, or rlimits per process
        "verify_keep": keep,
        # the stages that filter rows after execute (analyze only reads them)
        "after": [run.stage for run in runs[runs.index(execute) + 1 :] if run.stage != "analyze"],
        "published_rows": len(published),
        "published_passed": passed,
        "tests": tests,
        "figure": None,  # set by publish once `plot` wrote it
    }


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


# --- the card section -----------------------------------------------------------------------------------------------


def _fmt(n) -> str:
    return "?" if n is None else f"{n:,}"


def _size(key: str, value) -> str:
    if key.endswith("_bytes") and isinstance(value, int):
        for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
            if value >= 1 << shift and value % (1 << shift) == 0:
                return f"{value >> shift} {unit}"
    return str(value)


def _rows(n: int) -> str:
    return f"{_fmt(n)} row" if n == 1 else f"{_fmt(n)} rows"


def _rate(passed: int, ran: int) -> str:
    return f"{100 * passed / ran:.1f}%" if ran else "-"


def _verbatim(text: str) -> list[str]:
    return ["````text", text, "````"]


def summary(rep: dict) -> str:
    """One sentence for the card's introduction."""
    if rep["verify_keep"] == "all":
        return (
            f"Every row's solution was run against teacher-written tests; {_fmt(rep['published_passed'])} of the "
            f"{_fmt(rep['published_rows'])} rows pass them (`exec_status`, see Verification)."
        )
    return "Every row's solution passed teacher-written tests when run (see Verification)."


def card_section(rep: dict) -> list[str]:
    """The lines under the card's "## Verification" heading."""
    tests = rep.get("tests") or {}
    teacher = f" by `{tests['teacher']}`" if tests.get("teacher") else ""
    lines = [
        (
            f"Each row's solution was run against tests written{teacher} for it (the tests prompt is below), in a "
            "sandbox with the limits below; `exec_status` says what happened."
        ),
        "",
    ]
    if rep.get("sandbox") in ("none", None):
        lines += [_no_sandbox(rep.get("sandbox")), ""]
    if rep.get("figure"):
        lines += [f"![Rows per language at each step and exec_status per language]({rep['figure']})", ""]
    lines += ["### Funnel", "", *_funnel(rep), "", "### Results per language", "", *_results(rep)]
    lines += ["", "### Toolchains, sandbox and limits", "", *_machine(rep)]
    lines += ["", "### Which rows are published", "", *_keep(rep)]
    if rep.get("tests"):
        lines += ["", "### Tests prompt", "", *_prompt(rep["tests"])]
    return lines


def _no_sandbox(sandbox) -> str:
    if sandbox is None:
        return "**Warning**: the execute stage did not record its sandbox: assume the code ran without isolation."
    return (
        "**Warning: no sandbox.** This build ran the teacher's solutions and tests without isolation (`sandbox: "
        "none`): with the resource limits below and an empty environment, but with the build machine's files and "
        "network. Only do this with code you trust; `sandbox: bwrap` (bubblewrap) is the default."
    )


def _funnel(rep: dict) -> list[str]:
    columns = rep["funnel"]["columns"]
    lines = ["| language | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for lang, *counts in rep["funnel"]["rows"]:
        name = "**all**" if lang == TOTAL else lang
        lines.append(f"| {name} | " + " | ".join(_fmt(n) for n in counts) + " |")
    lines += [
        "",
        "*executed*: rows whose tests ran (not those without a toolchain or in an unsupported language); "
        "*passed*: rows with `exec_status` pass; "
        + (
            f"*published and passed*: rows of this dataset{_after(rep)} that passed (with `verify_keep: all` it "
            f"also holds {_rows(_not_passed(rep))} that did not)."
            if rep["verify_keep"] == "all"
            else f"*published*: rows of this dataset{_after(rep)}."
        ),
    ]
    if "?" in "".join(_fmt(n) for row in rep["funnel"]["rows"] for n in row[1:]):
        lines.append("`?`: that stage's rows have no `lang` column.")
    return lines


def _after(rep: dict) -> str:
    return f" (after {', '.join(rep['after'])})" if rep.get("after") else ""


def _not_passed(rep: dict):
    if rep["published_passed"] is None:
        return None
    return rep["published_rows"] - rep["published_passed"]


def _results(rep: dict) -> list[str]:
    by = rep["statuses"]
    failures = [s for s in STATUSES[1:] if s not in NOT_RUN and any(c.get(s) for c in by.values())]
    failures += sorted({s for c in by.values() for s in c} - set(STATUSES))
    header = ["language", "executed", "passed", "pass rate", *failures]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    total: Counter = Counter()
    for lang in sorted(by):
        counts = by[lang]
        total.update(counts)
        ran, ok = executed(counts), counts.get("pass", 0)
        lines.append(
            f"| {lang} | {_fmt(ran)} | {_fmt(ok)} | {_rate(ok, ran)} | "
            + " | ".join(_fmt(counts.get(s, 0)) for s in failures)
            + " |"
        )
    ran, ok = executed(total), total.get("pass", 0)
    lines.append(
        f"| **all** | {_fmt(ran)} | {_fmt(ok)} | {_rate(ok, ran)} | "
        + " | ".join(_fmt(total.get(s, 0)) for s in failures)
        + " |"
    )
    lines += ["", "Pass rate: passed / executed. The other columns are the `exec_status` of the rows that failed."]
    not_run = []
    for lang in sorted(by):
        if n := by[lang].get("no_toolchain"):
            tool = COMMANDS.get(lang)  # the command the build machine lacked
            what = f"no toolchain (`{tool}`)" if tool else "no toolchain"
            not_run.append(f"- {lang}: {_rows(n)} not run: {what} on the build machine (`no_toolchain`)")
        if n := by[lang].get("unsupported_language"):
            not_run.append(f"- {lang}: {_rows(n)} not run: no runner for this language (`unsupported_language`)")
    if not_run:
        lines += ["", "Rows not run (counted, not executed):", "", *not_run]
    return lines


def _machine(rep: dict) -> list[str]:
    lines = ["| language | toolchain |", "|---|---|"]
    lines += [
        f"| {lang} | {f'`{version}`' if version else 'not installed'} |"
        for lang, version in sorted(rep["toolchains"].items())
    ]
    sandbox = rep.get("sandbox")
    if sandbox in ("none", None):
        lines += ["", f"- Sandbox: **{'none' if sandbox else 'not recorded'}** (see the warning above)"]
    else:
        lines += [
            "",
            f"- Sandbox: `{sandbox}` (new namespaces, no network, read-only system, empty environment, private /tmp)",
        ]
    limits = rep["limits"] or {}
    nested = {k: v for k, v in limits.items() if isinstance(v, dict)}  # {"run": {...}, "compile": {...}}
    for name, values in {"": {k: v for k, v in limits.items() if k not in nested}, **nested}.items():
        if values:
            shown = ", ".join(f"`{k}` {_size(k, v)}" for k, v in sorted(values.items()))
            what = {"run": "to run a row's tests", "compile": "to compile a row"}.get(name, "per row")
            lines.append(f"- Limits {what}: {shown}")
    if held := rep.get("row_limits"):
        scope = "each row's whole process tree" if held.startswith("cgroup") else "each process on its own"
        lines.append(f"- Limits held by {held}: {scope}")
    return lines


def _keep(rep: dict) -> list[str]:
    if rep["verify_keep"] == "all":
        return [
            (
                "`verify_keep: all`: every row is published with its `exec_status`, `exec_seconds`, `exec_output` "
                f"and `exec_toolchain`; {_fmt(rep['published_passed'])} of the {_fmt(rep['published_rows'])} rows "
                "passed. To keep only those:"
            ),
            "",
            "```python",
            'ds = ds.filter(lambda r: r["exec_status"] == "pass")',
            "```",
        ]
    return [
        (
            "`verify_keep: passed`: only rows whose tests passed are published (`exec_status` pass); the others stay "
            "in the execute stage's `rejects/` of the build, with their status as `reason`."
        )
    ]


def _prompt(tests: dict) -> list[str]:
    lines = []
    if tests.get("teacher"):
        lines.append(f"- Teacher: `{tests['teacher']}`, `tests_max_tokens`: {tests.get('max_tokens')}")
    if tests.get("usage"):
        lines.append(f"- Usage: `{json.dumps(tests['usage'], sort_keys=True)}`")
    if lines:
        lines.append("")
    if tests.get("system_prompt"):
        lines += ["System message, verbatim:", "", *_verbatim(tests["system_prompt"]), ""]
    if tests.get("user_template"):
        lines += ["User message, verbatim:", "", *_verbatim(tests["user_template"]), ""]
    for lang, text in sorted((tests.get("harness") or {}).items()):
        lines += [f"How tests run for `{lang}`, verbatim:", "", *_verbatim(str(text)), ""]
    if not (tests.get("system_prompt") or tests.get("user_template")):
        lines.append("The tests stage's prompt was not recorded.")
    return lines[:-1] if lines and lines[-1] == "" else lines

"""The text of the dataset card's "Verification" section, from the plain data of `verification_report.report`: one
sentence for the introduction (`summary`) and the section's subsections (`card_section`): funnel, results per
language, the tests' mutation scores (`verification_mutation`), toolchains, sandbox and limits, which rows are
published, the tests prompt."""

from __future__ import annotations

import json
from collections import Counter

from dataset_builder.execution.executor import NOT_RUN, STATUSES  # in the order the card shows them
from dataset_builder.execution.toolchains import COMMANDS  # what the card names as missing for `no_toolchain`
from dataset_builder.verification_mutation import mutation_section
from dataset_builder.verification_report import TOTAL, executed
from dataset_builder.verification_samples import KEEP, samples_section


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


VERDICT = (
    "`exec_status: pass` means the tests' own code ran to its end and every check held: the executor's runner for the "
    "language reports it on a channel with a per-run secret token, after the tests returned, so a solution that exits "
    "early, installs an exit hook or signal handler, or stops the tests is `tests_incomplete` (with `exec_detail`), "
    "never `pass`; a run in which no check ran is not `pass` either. What this cannot rule out is deliberate forgery "
    "by code in the same process (reading the runner's memory for the token, or an equality that always says yes). "
    "Swift, which has no runner yet, is the exception: its `pass` is an exit status of 0."
)


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
    lines += [VERDICT, ""]
    if rep.get("figure"):
        lines += [f"![Rows per language at each step and exec_status per language]({rep['figure']})", ""]
    lines += ["### Funnel", "", *_funnel(rep), "", "### Results per language", "", *_results(rep)]
    if rep.get("samples"):
        samples = rep["samples"]
        section = samples_section(samples, samples.get("prompt"), samples.get("figure"))
        lines += ["", "### Several solutions per problem", "", *section]
    if rep.get("mutation"):
        lines += ["", "### Test strength (mutation score)", "", *mutation_section(rep["mutation"])]
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
            (
                f"- Sandbox: `{sandbox}`: the code sees `/usr`, the toolchains' folders and its row's files only "
                "(nothing of home folders, `/var`, `/run` or the build's output), new namespaces with no network and "
                "no nested user namespaces, a syscall filter (no keyring, io_uring, mounts, ptrace, bpf), an empty "
                "environment, and a private size-capped `/tmp` and `/dev/shm` that vanish with the run"
            ),
        ]
    limits = rep["limits"] or {}
    nested = {k: v for k, v in limits.items() if isinstance(v, dict)}  # {"run": {...}, "compile": {...}}
    for name, values in {"": {k: v for k, v in limits.items() if k not in nested}, **nested}.items():
        if values:
            shown = ", ".join(f"`{k}` {_size(k, v)}" for k, v in sorted(values.items()))
            what = {"run": "to run a row's tests", "compile": "to compile a row"}.get(name, "per row")
            lines.append(f"- Limits {what}: {shown}")
    for name, value in sorted((rep.get("options") or {}).items()):
        lines.append(f"- `{name}`: {value}")
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
    if rep["verify_keep"] in ("best", "diverse"):
        threshold = (rep.get("samples") or {}).get("diverse_threshold")
        return [
            (
                f"`verify_keep: {rep['verify_keep']}`: {KEEP[rep['verify_keep']].format(threshold=threshold)} "
                "(`exec_status` pass, `kept_sample` names the sample). Problems without a passing sample stay in the "
                "execute stage's `rejects/` of the build, with sample 0's status as `reason`."
            )
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

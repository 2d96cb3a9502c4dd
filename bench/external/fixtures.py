"""Write `tests/fixtures/external/`: a small subset of each benchmark file in its own layout, so the tests run in a
fresh clone without `../shared/data`: the first 8 usable rows of each benchmark and language, the first row of each
exclusion reason, and the rows named in `EXTRA` (regressions). Licence notes are written beside them.

    python -m bench.external.fixtures [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bench.external import loaders

# regressions: MBPP/798's function is `_sum`, which `from solution import *` does not import
EXTRA: dict[tuple[str, str], tuple[str, ...]] = {("mbxp", "python"): ("MBPP/798",)}
SOURCES = {
    "humaneval-x": (
        "HumanEval-X (the 164 HumanEval problems in C++, Java, JavaScript, Python and Rust)",
        "THUDM/CodeGeeX @2838420b7b44, `codegeex/benchmark/humaneval-x/<lang>/data/humaneval_<lang>.jsonl.gz`",
        "Apache-2.0 (CodeGeeX's repository licence)",
    ),
    "mbxp": (
        "MBXP (MBPP translated into C++, C#, Java, JavaScript, PHP, Python and TypeScript)",
        "amazon-science/mxeval @e09974f990ee, `data/mbxp/`",
        "Apache-2.0 (mxeval's repository licence)",
    ),
}


def subset(data: Path, benchmark: str, language: str) -> list[dict]:
    rows = loaders.read_rows(data, benchmark, language)
    keep, usable, reasons = [], 0, set()
    for row in rows:
        reason = loaders.problem(benchmark, language, row).excluded
        if reason is None and usable < loaders.USABLE_FIXTURES:
            usable += 1
            keep.append(row)
        elif reason is not None and reason not in reasons:
            reasons.add(reason)
            keep.append(row)
        elif row["task_id"] in EXTRA.get((benchmark, language), ()):
            keep.append(row)
    return keep


def write(data: Path, out: Path, licence_text: Path | None) -> None:
    for benchmark, language in loaders.FILES:
        path = out / loaders.FILES[benchmark, language]
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = subset(data, benchmark, language)
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    for benchmark, (what, source, licence) in SOURCES.items():
        note = (
            f"# {benchmark}: a subset, for the tests\n\n{what}: a few rows of each file, unchanged, copied by "
            f"`python -m bench.external.fixtures` from the offline copy described in `shared/data/README.md`.\n\n"
            f"- Source: {source}\n- Licence: {licence}; its text is in LICENSE beside this file.\n"
            "- Not training data: used only to check the verification executor.\n"
        )
        (out / benchmark / "README.md").write_text(note)
        if licence_text is not None:
            shutil.copyfile(licence_text, out / benchmark / "LICENSE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=loaders.default_data_dir())
    parser.add_argument("--out", type=Path, default=loaders.fixtures_dir())
    parser.add_argument("--licence-text", type=Path, default=None, help="the Apache-2.0 text to copy as LICENSE")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("no shared/data beside the checkout: pass --data")
    write(args.data, args.out, args.licence_text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

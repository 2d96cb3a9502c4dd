"""`python -m dataset_builder.execution`: each language's toolchain as the sandbox will see it (binary and version)
or the command that installs it. `--check-sandbox` instead checks that bubblewrap runs here: exit 0, or 1 with the
reason and the fix on one line (the quickstart uses it to decide whether to run its verified build)."""

from __future__ import annotations

import argparse
import sys

from dataset_builder.execution import toolchains


def table() -> list[tuple[str, str, str]]:
    rows = []
    for language in toolchains.LANGUAGES:
        found = toolchains.find(language)
        if found is None:
            note = toolchains.install_hint(language)
            if language == "swift":
                note = "no Debian 12 package; rows are counted as no_toolchain"
            rows.append((language, "missing", note))
        else:
            binary = next(iter(found.binaries.values()))
            rows.append((language, binary, found.version))
    return rows


def check_sandbox() -> int:
    from dataset_builder.execution.sandbox import Bwrap, SandboxError

    try:
        Bwrap().check()
    except SandboxError as err:
        print(str(err).replace("\n", " "))
        return 1
    print(f"{Bwrap().version()} runs here")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dataset_builder.execution", description=__doc__)
    parser.add_argument("--check-sandbox", action="store_true", help="check that bubblewrap runs here, then exit")
    args = parser.parse_args(argv)
    if args.check_sandbox:
        return check_sandbox()
    rows = table()
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    for language, binary, note in rows:
        print(f"{language:<{width[0]}}  {binary:<{width[1]}}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m dataset_builder.execution`: each language's toolchain as the sandbox will see it (binary and version)
or the command that installs it."""

from __future__ import annotations

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


def main() -> None:
    rows = table()
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    for language, binary, note in rows:
        print(f"{language:<{width[0]}}  {binary:<{width[1]}}  {note}")


if __name__ == "__main__":
    main()

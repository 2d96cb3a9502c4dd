"""Seed licences: SPDX ids from licence files and package metadata, and what the dataset card and the build say.

`license_of_text` matches the first lines of a licence file; `package_license` reads an installed package's metadata
(`License-Expression`, its licence files, `License`, classifiers). `tally` counts rows per licence and `warning` says
when some are copyleft or of unknown licence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING)([.-].*)?", re.I)
FIRST_LINES = 40
TEXT_PATTERNS = (  # first match wins: the specific (AGPL, LGPL, BSD-3) before the general (GPL, BSD-2)
    ("AGPL-3.0", r"GNU AFFERO GENERAL PUBLIC LICENSE"),
    ("LGPL-3.0", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3"),
    ("LGPL-2.1", r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1"),
    ("LGPL-2.0", r"GNU LIBRARY GENERAL PUBLIC LICENSE"),
    ("GPL-3.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 3"),
    ("GPL-2.0", r"GNU GENERAL PUBLIC LICENSE\s+Version 2"),
    ("Apache-2.0", r"Apache License,?\s+Version 2\.0"),
    ("MPL-2.0", r"Mozilla Public License,?\s+(v\. |Version )?2\.0"),
    ("EPL-2.0", r"Eclipse Public License\s+-?\s*v\s*2\.0"),
    ("EPL-1.0", r"Eclipse Public License\s+-?\s*v\s*1\.0"),
    ("MIT", r"Permission is hereby granted, free of charge"),
    ("BSD-3-Clause", r"Neither the name of .{0,200}? nor the names"),
    ("BSD-2-Clause", r"Redistribution and use in source and binary forms"),
    ("ISC", r"Permission to use, copy, modify, and(/or)? distribute this software"),
    ("Unlicense", r"This is free and unencumbered software"),
    ("BSL-1.0", r"Boost Software License"),
)
TEXT_REGEXES = tuple((spdx, re.compile(pattern, re.I | re.S)) for spdx, pattern in TEXT_PATTERNS)
# `License ::` trove classifiers (the part after the last `::`) and short `License:` values, lower-cased
NAMES = {
    "mit license": "MIT",
    "mit": "MIT",
    "apache software license": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "gnu general public license v3 (gplv3)": "GPL-3.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0",
    "gnu affero general public license v3": "AGPL-3.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "eclipse public license 2.0 (epl-2.0)": "EPL-2.0",
    "isc license (iscl)": "ISC",
    "the unlicense (unlicense)": "Unlicense",
    "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause",
}
COPYLEFT = re.compile(r"^(A?GPL|LGPL|MPL|EPL|EUPL|CDDL|OSL|CECILL|CC-BY-SA)", re.I)
UNKNOWN = "unknown"


def license_of_text(text: str) -> str | None:
    """The SPDX id of a licence text, from its first lines; None when none matches."""
    head = "\n".join(text.splitlines()[:FIRST_LINES])
    return next((spdx for spdx, regex in TEXT_REGEXES if regex.search(head)), None)


def license_files(folder: Path) -> list[Path]:
    """The folder's `LICENSE`, `LICENCE`, `COPYING` and `LICENSE.*` files, plain names first."""
    try:
        found = [p for p in folder.iterdir() if LICENSE_FILE.fullmatch(p.name) and p.is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: (len(p.name), p.name))


def license_in_folder(folder: Path) -> str | None:
    """The licence of the first licence file in `folder` that names a known licence."""
    for path in license_files(folder):
        spdx = license_of_text(path.read_text(errors="replace"))
        if spdx:
            return spdx
    return None


def _metadata_license(dist) -> str | None:
    meta = dist.metadata
    if meta.get("License-Expression"):
        return meta["License-Expression"].strip()
    for name in meta.get_all("License-File") or []:
        text = dist.read_text(f"licenses/{name}") or dist.read_text(name)
        if text and (spdx := license_of_text(text)):
            return spdx
    declared = (meta.get("License") or "").strip()
    if declared and (spdx := NAMES.get(declared.lower()) or license_of_text(declared)):
        return spdx
    for classifier in meta.get_all("Classifier") or []:
        if classifier.startswith("License ::") and (spdx := NAMES.get(classifier.rsplit("::", 1)[1].strip().lower())):
            return spdx
    return None


@lru_cache(maxsize=256)
def _site_licenses(site_dir: str) -> dict[str, str | None]:
    """{top-level import name: licence} of the distributions installed in `site_dir` ({} for another folder)."""
    from importlib.metadata import distributions

    if not any(Path(site_dir).glob("*.dist-info")):
        return {}
    licenses = {}
    for dist in distributions(path=[site_dir]):
        tops = (dist.read_text("top_level.txt") or "").split()
        tops = tops or {Path(f).parts[0] for f in dist.files or () if not Path(f).parts[0].endswith(".dist-info")}
        spdx = _metadata_license(dist)
        for top in tops:
            licenses[top.removesuffix(".py")] = spdx
    return licenses


def package_license(folder: Path) -> str | None:
    """The licence in the metadata of the installed distribution whose top-level package is `folder`, if any."""
    return _site_licenses(str(folder.parent)).get(folder.name)


def is_site_dir(folder: Path) -> bool:
    """A folder of installed distributions (site-packages): a licence lookup stops there."""
    return bool(_site_licenses(str(folder)))


def is_unknown(spdx: str | None) -> bool:
    return not spdx or spdx.strip().lower() in (UNKNOWN, "other", "noassertion", "none")


def is_copyleft(spdx: str | None) -> bool:
    """Any part of a licence value (`Apache-2.0,MIT`, `MIT OR GPL-3.0`) is copyleft."""
    return not is_unknown(spdx) and any(COPYLEFT.match(part) for part in re.split(r"[\s,;()]+", spdx) if part)


def tally(values: Iterable[str | None]) -> dict[str, int]:
    """Rows per licence, most rows first; a missing licence counts as `unknown`."""
    counts = Counter(UNKNOWN if is_unknown(v) else v for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def warning(counts: dict[str, int], unit: str = "rows") -> str | None:
    """What a user must check before publishing: rows from copyleft seeds or from seeds of unknown licence."""
    total = sum(counts.values())
    copyleft = {k: v for k, v in counts.items() if is_copyleft(k)}
    parts = []
    if copyleft:
        detail = ", ".join(f"{k}: {v}" for k, v in copyleft.items())
        parts.append(f"{sum(copyleft.values())} of {total} {unit} come from copyleft code ({detail})")
    if counts.get(UNKNOWN):
        parts.append(f"{counts[UNKNOWN]} of {total} {unit} come from code of unknown licence")
    if not parts:
        return None
    return "; ".join(parts) + ": check their terms before publishing or training on this data."

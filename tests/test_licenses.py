"""Seed licences: SPDX ids from licence files up the tree and from installed packages' metadata; the warnings."""

import pytest

from dataset_builder import licenses
from dataset_builder.config import BuilderConfig
from dataset_builder.corpus_readers import DirectorySource

HEADS = {
    "MIT": "MIT License\n\nCopyright (c) 2020 A\n\nPermission is hereby granted, free of charge, to any person",
    "Apache-2.0": "\n    Apache License\n    Version 2.0, January 2004",
    "BSD-3-Clause": (
        "Copyright (c) 2001\nRedistribution and use in source and binary forms, with or without\n"
        "3. Neither the name of the copyright holder nor the names of its\n   contributors may be used"
    ),
    "BSD-2-Clause": "Copyright (c) 2001\nRedistribution and use in source and binary forms, with or without",
    "GPL-3.0": "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007",
    "GPL-2.0": "                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991",
    "LGPL-3.0": (
        "                   GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n"
        "  This version of the GNU Lesser General Public License incorporates\nthe terms of version 3 of the GNU "
        "General Public License"
    ),
    "LGPL-2.1": "    GNU LESSER GENERAL PUBLIC LICENSE\n    Version 2.1, February 1999",
    "AGPL-3.0": "    GNU AFFERO GENERAL PUBLIC LICENSE\n    Version 3, 19 November 2007",
    "MPL-2.0": "Mozilla Public License Version 2.0\n==================================",
    "ISC": "ISC License\n\nPermission to use, copy, modify, and/or distribute this software for any",
    "Unlicense": "This is free and unencumbered software released into the public domain.",
}


@pytest.mark.parametrize("spdx", list(HEADS))
def test_licence_texts_map_to_spdx_ids(spdx):
    assert licenses.license_of_text(HEADS[spdx]) == spdx


def test_an_unrecognised_text_is_unknown_and_only_the_first_lines_count():
    assert licenses.license_of_text("All rights reserved.\n") is None
    assert licenses.license_of_text("x\n" * 100 + HEADS["MIT"]) is None


def _source(root, **kwargs):
    config = BuilderConfig(corpus=str(root), languages={"python": 10}, teacher_model="t", **kwargs)
    return {c.key: c.provenance()["license"] for c in DirectorySource(root, config)}


def test_the_nearest_licence_file_up_the_tree_wins(tmp_path):
    (tmp_path / "LICENSE.txt").write_text(HEADS["Apache-2.0"])
    (tmp_path / "vendor" / "gpl").mkdir(parents=True)
    (tmp_path / "vendor" / "COPYING").write_text(HEADS["GPL-2.0"])
    (tmp_path / "vendor" / "gpl" / "a.py").write_text("x = 1\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "LICENCE").write_text(HEADS["MIT"])
    (tmp_path / "other" / "b.py").write_text("y = 2\n")
    (tmp_path / "c.py").write_text("z = 3\n")
    assert _source(tmp_path) == {"vendor/gpl/a.py": "GPL-2.0", "other/b.py": "MIT", "c.py": "Apache-2.0"}


def test_a_file_without_a_licence_is_unknown(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "LICENSE").write_text("Proprietary. All rights reserved.\n")
    assert _source(tmp_path) == {"a.py": None}


def _dist(site, name, top, metadata):
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{metadata}")
    (info / "top_level.txt").write_text(f"{top}\n")
    (site / top).mkdir()
    (site / top / "__init__.py").write_text("VALUE = 1\n")


def test_installed_packages_take_their_licence_from_metadata(tmp_path):
    site = tmp_path / "site-packages"
    _dist(site, "expr", "expr_pkg", "License-Expression: BSD-3-Clause\n")
    agpl = "Classifier: License :: OSI Approved :: GNU Affero General Public License v3\n"
    _dist(site, "classic", "classic_pkg", agpl)
    _dist(site, "short", "short_pkg", "License: MIT\n")
    _dist(site, "none", "none_pkg", "Summary: no licence given\n")
    assert _source(site) == {
        "expr_pkg/__init__.py": "BSD-3-Clause",
        "classic_pkg/__init__.py": "AGPL-3.0",
        "short_pkg/__init__.py": "MIT",
        "none_pkg/__init__.py": None,
    }
    assert _source(site / "expr_pkg") == {"__init__.py": "BSD-3-Clause"}  # the package folder itself as corpus
    (tmp_path / "LICENSE").write_text(HEADS["MIT"])  # above site-packages: not the licence of its packages
    assert _source(site)["none_pkg/__init__.py"] is None


def test_copyleft_and_unknown_seeds_are_warned_about():
    counts = licenses.tally(["MIT", "GPL-3.0", None, "MIT", "Apache-2.0,LGPL-2.1", "unknown"])
    assert counts == {"MIT": 2, "unknown": 2, "Apache-2.0,LGPL-2.1": 1, "GPL-3.0": 1}
    text = licenses.warning(counts)
    assert "2 of 6 rows come from copyleft code (Apache-2.0,LGPL-2.1: 1, GPL-3.0: 1)" in text
    assert "2 of 6 rows come from code of unknown licence" in text
    assert licenses.warning({"MIT": 3, "Apache-2.0 OR MIT": 1}) is None
    assert not licenses.is_copyleft("mit") and licenses.is_copyleft("mpl-2.0")

"""Local paths versus Hub ids, and names fit for a public card (a local path never leaks past its last part)."""

from __future__ import annotations

import os
from pathlib import Path


def is_local(name: str | os.PathLike | None) -> bool:
    """A path on this machine rather than a Hub id (`org/name` or a bare canonical name): it exists, is absolute or
    starts with `~` or `.`, holds a backslash or two slashes, or its parent folder exists."""
    if not name:
        return False
    name = str(name)
    if name.startswith(("/", "~", ".")) or os.path.isabs(name) or "\\" in name or name.count("/") > 1:
        return True
    if os.path.exists(name):
        return True
    parent = os.path.dirname(os.path.normpath(name))
    return bool(parent) and os.path.isdir(parent)


def public_name(name: str | os.PathLike | None) -> str | None:
    """A Hub id as it is; a local path by its last part only."""
    if name is None:
        return None
    return f"{Path(str(name)).name} (local)" if is_local(name) else str(name)

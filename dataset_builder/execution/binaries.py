"""Finding a toolchain's binaries as the sandbox will run them, and their versions.

Every binary is an absolute path, because the sandbox starts processes with an empty environment (`--clearenv`,
PATH=/usr/local/bin:/usr/bin:/bin, HOME=/tmp): a rustup shim or a pyenv shim would not work there. As root the
sandbox runs each worker as an unprivileged uid (`sandbox.Sandbox.uid`), so a binary counts as found only when that
uid can reach it (rustup's toolchains under /root, mode 700, cannot be).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

SEARCH = ("/usr/local/bin", "/usr/bin", "/bin")


def tools_dir() -> Path:
    """Where `install_toolchains.sh` puts npm tools (TypeScript). As root the default is outside /root, which the
    sandbox's unprivileged uid cannot enter."""
    if os.environ.get("OSS_INSTRUCT_TOOLS"):
        return Path(os.environ["OSS_INSTRUCT_TOOLS"])
    if os.geteuid() == 0:
        return Path("/usr/local/lib/oss-instruct/tools")
    return Path.home() / ".cache" / "oss-instruct" / "tools"


def reachable(path: Path) -> bool:
    """Whether the sandbox's process can execute/read `path`: as root it runs as another uid, so every folder on the
    way needs o+x and the file o+rx."""
    if os.geteuid() != 0:
        return os.access(path, os.X_OK)
    path = path.resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    mode = path.stat().st_mode
    return bool(mode & stat.S_IXOTH and mode & stat.S_IROTH)


def candidates(name: str) -> list[Path]:
    """`name` on PATH, then in the standard folders; each resolved, without duplicates."""
    seen: list[Path] = []
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), *SEARCH]:
        found = shutil.which(name, path=folder) if folder else None
        if found:
            real = Path(found).resolve()
            if real not in seen:
                seen.append(real)
    return seen


def which(name: str) -> Path | None:
    """The first `name` the sandbox's uid can run (never a pyenv or rbenv shim)."""
    for path in candidates(name):
        if "/shims/" not in str(path) and reachable(path):
            return path
    return None


_VERSIONS: dict[tuple[str, ...], str] = {}
_VERSIONS_LOCK = threading.Lock()


def version(label: str, argv: list[str]) -> str:
    """`label` + the first version number the command prints; computed once per command."""
    key = (label, *argv)
    with _VERSIONS_LOCK:
        if key not in _VERSIONS:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": ":".join(SEARCH)})
            number = re.search(r"\d+\.\d+(?:\.\d+)*", done.stdout + done.stderr)
            _VERSIONS[key] = f"{label} {number.group(0) if number else 'unknown'}"
        return _VERSIONS[key]

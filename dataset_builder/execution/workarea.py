"""Row folders that no row can break: removal, hand-over to a slot uid, and reading a marker the code may have forged.

A row's code (or, with `sandbox: none`, the row's tests in the host folder) can leave anything behind: a chain of
thousands of nested folders (deeper than PATH_MAX, deeper than Python's recursion limit), folders without read, write
or search permission, symlinks and hard links to host files, a marker replaced by a link, a folder or garbage. Every
walk here is iterative, works relative to open folder descriptors (so no path grows with the depth), never follows a
link, and reports what it could not do instead of raising past its caller.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MARKER_BYTES = 4096  # a compile marker is ~150 bytes; anything bigger is not ours


def remove_tree(top: Path) -> list[str]:
    """Remove `top` and everything under it, never following a link; folders without permission are opened up
    (chmod u+rwx) on the way. Returns what could not be removed (paths relative to `top`); never raises for what a
    row left behind."""
    try:
        info = os.lstat(top)
    except FileNotFoundError:
        return []
    failures: dict[str, None] = {}  # in order, once each
    if not stat.S_ISDIR(info.st_mode):
        _unlink(os.fspath(top), None, [], failures)
        return list(failures)
    fd = _enter(os.fspath(top), None, [], failures)
    if fd is None:
        return list(failures)
    names: list[str] = []  # the folders entered below `top`, outermost first
    pending = [_scan(fd, names, failures)]  # per depth: the sub-folders still to remove
    try:
        while True:
            if pending[-1]:
                name = pending[-1].pop()
                inner = _enter(name, fd, names, failures)
                if inner is not None:
                    os.close(fd)
                    fd = inner
                    names.append(name)
                    pending.append(_scan(fd, names, failures))
                continue
            if not names:
                break
            parent = os.open("..", _DIR & ~os.O_NOFOLLOW, dir_fd=fd)  # the real parent: we never entered a link
            os.close(fd)
            fd = parent
            pending.pop()
            name = names.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError as error:
                failures["/".join([*names, name]) + f": {error.strerror}"] = None
    finally:
        os.close(fd)
    if not failures:
        try:
            os.rmdir(top)
        except OSError as error:
            failures[f".: {error.strerror}"] = None
    return list(failures)


def _scan(fd: int, names: list[str], failures: dict[str, None]) -> list[str]:
    """Unlink everything in the open folder that is not a folder; return the names of its sub-folders."""
    folders = []
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
                else:
                    _unlink(entry.name, fd, names, failures)
    except OSError as error:
        failures[f"{_shown(names)}: {error.strerror}"] = None
    return folders


def _shown(names: list[str], name: str | None = None) -> str:
    """A path relative to the tree's top, for a failure (built only then: the depth can be thousands)."""
    return "/".join([*names, name] if name else names) or "."


def _enter(name: str, dir_fd: int | None, names: list[str], failures: dict[str, None]) -> int | None:
    """An open descriptor of folder `name` (not a link), made readable, writable and searchable by us; None (and the
    reason in `failures`) when it cannot be."""
    for attempt in range(2):
        try:
            fd = os.open(name, _DIR, dir_fd=dir_fd)
        except PermissionError as error:
            if attempt == 0 and _open_up(name, dir_fd):
                continue
            failures[f"{_shown(names, None if dir_fd is None else name)}: {error.strerror}"] = None
            return None
        except OSError as error:
            failures[f"{_shown(names, None if dir_fd is None else name)}: {error.strerror}"] = None
            return None
        mode = os.fstat(fd).st_mode
        if mode & 0o700 != 0o700:
            try:
                os.fchmod(fd, stat.S_IMODE(mode) | 0o700)
            except PermissionError:
                pass  # not ours: unlinking inside may still work (as root it does)
        return fd
    return None


def _open_up(name: str, dir_fd: int | None) -> bool:
    """chmod u+rwx a folder we cannot open (a row's chmod 000); False when that is not allowed either."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            return False
        os.chmod(name, stat.S_IMODE(info.st_mode) | 0o700, dir_fd=dir_fd)  # a folder (lstat above), not a link
        return True
    except OSError:
        return False


def _unlink(name: str, dir_fd: int | None, names: list[str], failures: dict[str, None]) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass  # already gone: what we wanted
    except OSError as error:
        failures[f"{_shown(names, name)}: {error.strerror}"] = None


def discard(folder: Path) -> None:
    """Remove a row's folder; what cannot be removed is moved aside (`.stale-<name>-<random>` next to it) with a
    warning, so the folder's name is free for the row's next attempt. Raises OSError only when even that fails."""
    failures = remove_tree(folder)
    if not failures or not os.path.lexists(folder):
        return
    aside = folder.with_name(f".stale-{folder.name}-{secrets.token_hex(4)}")
    os.rename(folder, aside)
    logger.warning(
        "could not remove %d entries a row left in %s (%s); moved it to %s: remove it as root",
        len(failures), folder, "; ".join(failures[:3]), aside,
    )  # fmt: skip


def remove(folder: Path, what: str = "folder") -> bool:
    """Remove `folder`; False (and a warning naming what is left and the fix) when something could not be."""
    failures = remove_tree(folder)
    if failures:
        logger.warning("could not remove %d entries of the %s %s (%s): remove it as root",
                       len(failures), what, folder, "; ".join(failures[:3]))  # fmt: skip
    return not failures


def give(top: Path, uid: int) -> None:
    """Make a row's folder (and everything in it) the slot uid's, iteratively. Never through a link: a symlink or a
    hard link the code made could point at a host file, which root would then hand over."""
    fd = os.open(top, _DIR)
    _chown(fd, None, uid)
    stack = [fd]  # open folders still to walk; at most the depth of the chain being walked
    try:
        while stack:
            fd = stack.pop()
            try:
                with os.scandir(fd) as entries:
                    folders = []
                    for entry in entries:
                        _chown(fd, entry.name, uid)
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.name)
                for name in folders:
                    try:
                        stack.append(os.open(name, _DIR, dir_fd=fd))
                    except OSError as error:
                        raise OSError(f"cannot hand {top} to uid {uid}: {name}: {error.strerror}") from error
            finally:
                os.close(fd)
    finally:
        for fd in stack:
            os.close(fd)


def _chown(dir_fd: int, name: str | None, uid: int) -> None:
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False) if name else os.fstat(dir_fd)
    if stat.S_ISLNK(info.st_mode) or (not stat.S_ISDIR(info.st_mode) and info.st_nlink > 1) or info.st_uid == uid:
        return
    if name:
        os.chown(name, uid, uid, dir_fd=dir_fd, follow_symlinks=False)
    else:
        os.fchown(dir_fd, uid, uid)


def read_marker(path: Path) -> dict | None:
    """The JSON object in `path`, or None when there is none to trust: missing, a link (O_NOFOLLOW), not a regular
    file (a folder, a FIFO: O_NONBLOCK), over MARKER_BYTES, or not a JSON object."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None  # missing, a link (ELOOP) or unreadable: no marker
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, MARKER_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MARKER_BYTES:
        return None
    try:
        marker = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None  # garbage: no marker
    return marker if isinstance(marker, dict) else None

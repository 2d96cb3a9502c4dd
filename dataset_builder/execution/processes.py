"""Processes of a sandboxed run: reading its output, killing its tree, and (as root) the uids its worker slots run as.

As root each sandbox leases a block of UID_BLOCK uids with a lock file, so two builds on one machine never share one.
The blocks lie in 0x70F00000.. (above 1.8 billion, below 2^31), a range systemd's UIDS-GIDS document leaves unused: no
system user, no systemd dynamic uid (61184-65519), not `nobody` (65534), not a container's range. A block is used only
when every one of its uids is free (no passwd or group entry, no live process); the sweep after a run kills only the
processes of the slot uid that ran it, so a host process can never be killed by it.
"""

from __future__ import annotations

import fcntl
import grp
import logging
import os
import pwd
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

logger = logging.getLogger(__name__)

BASE_UID = 0x70F00000  # 1894776832
UID_BLOCK = 64  # uids (worker slots) per sandbox
UID_BLOCKS = 256  # sandboxes that can run at once on one machine
READ_CHUNK = 1 << 16
CHECK_SECONDS = 0.05  # how often the tree's CPU time and OOM kills are read while a run goes
SWEEP_SECONDS = 5.0  # how long SIGKILLed processes may take to disappear before we call it a bug


class SandboxError(RuntimeError):
    """The sandbox cannot run here; the message names the fix."""


# --------------------------------------------------------------------------------------------------------------
# Uid leases (root only)
# --------------------------------------------------------------------------------------------------------------


class UidLease:
    """A block of UID_BLOCK free uids, held by an exclusive lock on a file until `release` (or the process ends)."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or Path(tempfile.gettempdir()) / "oss-instruct-sandbox-uids"
        folder.mkdir(mode=0o700, exist_ok=True)
        _check_mapped(BASE_UID, BASE_UID + UID_BLOCK * UID_BLOCKS)
        busy: list[str] = []
        in_use = None
        for block in range(UID_BLOCKS):
            lock = open(folder / f"block-{block}.lock", "w")  # noqa: SIM115 - held for the lease's life
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue  # another sandbox holds it
            first = BASE_UID + block * UID_BLOCK
            in_use = _owners() if in_use is None else in_use
            taken = _taken(range(first, first + UID_BLOCK), in_use)
            if taken:
                busy.append(f"block {block}: {taken}")
                lock.close()
                continue
            self._lock, self.block, self.uids = lock, block, range(first, first + UID_BLOCK)
            logger.info("sandbox: worker slots run as uids %d-%d (lease %s)", first, first + UID_BLOCK - 1, lock.name)
            return
        raise SandboxError(
            f"no free block of sandbox uids in {BASE_UID}-{BASE_UID + UID_BLOCK * UID_BLOCKS - 1}: every lock in "
            f"{folder} is held or its uids are used ({'; '.join(busy[:3]) or 'all locks held'}); wait for other "
            "builds to finish, or remove the users or processes named"
        )

    def release(self) -> None:
        self._lock.close()


def _check_mapped(first: int, end: int) -> None:
    """Inside a user namespace (a container) uids outside its map cannot be switched to."""
    for line in Path("/proc/self/uid_map").read_text().splitlines():
        inside, _, count = (int(x) for x in line.split())
        if inside <= first and end <= inside + count:
            return
    raise SandboxError(
        f"the sandbox's uids {first}-{end - 1} are not mapped in this user namespace (/proc/self/uid_map): run the "
        "build as a normal user (no uid switching) or map that range into the container"
    )


def _owners() -> set[int]:
    """The uids that own a process now."""
    owners = set()
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit():
                owners.add(entry.stat().st_uid)
        except FileNotFoundError:
            continue  # exited while we looked
    return owners


def _taken(uids: range, in_use: set[int]) -> list[int]:
    """The uids of `uids` that have a passwd or group entry or a live process."""
    taken = []
    for uid in uids:
        if uid in in_use:
            taken.append(uid)
            continue
        for lookup in (pwd.getpwuid, grp.getgrgid):
            try:
                lookup(uid)
            except KeyError:
                continue  # no entry: what we want
            taken.append(uid)
            break
    return taken


# --------------------------------------------------------------------------------------------------------------
# Output and process trees
# --------------------------------------------------------------------------------------------------------------


def _collect(proc: subprocess.Popen, deadline: float, cap: int, exceeded) -> tuple[bytearray, str | None]:
    """Read the merged output until the command exits, the deadline passes ("wall"), the output goes over `cap`
    ("output") or `exceeded()` names a spent budget (asked every CHECK_SECONDS). Returns (output, why it was stopped:
    None when it exited)."""
    fd, output = proc.stdout.fileno(), bytearray()
    pidfd = os.pidfd_open(proc.pid)  # readable once the command has exited (even if a child keeps the pipe open)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    reading, exited, check = True, False, time.monotonic() + CHECK_SECONDS
    try:
        while not exited:
            now = time.monotonic()
            if now >= deadline:
                return output, "wall"
            if now >= check:
                if spent := exceeded():
                    return output, spent
                check = now + CHECK_SECONDS
            for ready, _ in poller.poll((min(deadline, check) - now) * 1000 + 1):
                if ready == pidfd:
                    exited = True
                elif reading:
                    chunk = os.read(fd, READ_CHUNK)
                    if not chunk:
                        reading = False
                        poller.unregister(fd)
                    output += chunk
                    if len(output) > cap:
                        return output, "output"
        if reading:  # what it wrote before exiting is in the pipe; later writers are killed
            os.set_blocking(fd, False)
            while len(output) <= cap:
                try:
                    chunk = os.read(fd, READ_CHUNK)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                output += chunk
        return output, "output" if len(output) > cap else None
    finally:
        os.close(pidfd)


def _signal(pid: int) -> None:
    """SIGKILL a process (or a group: negative pid) that may already be gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it already exited: what we wanted


def _drain_group(pgid: int) -> None:
    """SIGKILL the process group `pgid` (its leader reaped) until no live process is left in it: the kernel delivers
    SIGKILL asynchronously, so a process signalled a moment ago may still run. Zombies (orphans waiting for init to
    reap them) do not count."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return  # the group is empty: the usual case, one system call
        live = _scan(lambda fields: int(fields[2]) == pgid and fields[0] != b"Z")
        if not live:
            return
        if time.monotonic() > deadline:
            raise SandboxError(f"processes {live} of group {pgid} survived SIGKILL for {SWEEP_SECONDS:.0f} s")
        time.sleep(0.001)


def _scan(keep) -> list[int]:
    """The pids whose /proc/PID/stat fields after the command name (state, ppid, pgrp, ...) satisfy `keep`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rpartition(b")")[2].split()
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited while we looked
            if keep(fields):
                found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (this kernel has no /proc/PID/task/PID/children)."""
    return _scan(lambda fields: int(fields[1]) == pid)


def leftovers(uid: int) -> list[int]:
    """Live processes of `uid`: what a run must not leave behind."""
    return _processes(uid)[0]


def _processes(uid: int) -> tuple[list[int], int]:
    """(live pids, zombies) of `uid`. The uid is the owner of /proc/PID (reading every status costs 8 ms a scan here);
    a process that made itself non-dumpable shows as root's and is missed: under bwrap its namespace dies anyway."""
    live, zombies = [], 0
    for entry in os.scandir("/proc"):
        try:
            if not (entry.name.isdigit() and entry.stat().st_uid == uid):
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split(None, 1)[0]
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        if state == b"Z":
            zombies += 1
        else:
            live.append(int(entry.name))
    return live, zombies


def _tasks_of(uid: int) -> int:
    """Tasks (threads: RLIMIT_NPROC counts them) the user runs now."""
    tasks = 0
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                tasks += len(os.listdir(f"/proc/{entry.name}/task"))
        except FileNotFoundError:
            continue  # exited while we counted
    return tasks


def _sweep(uid: int) -> int:
    """Kill every live process of a slot's uid (one this sandbox leased) and wait until none is left; return its
    zombies."""
    deadline = time.monotonic() + SWEEP_SECONDS
    while True:
        live, zombies = _processes(uid)
        if not live:
            return zombies
        if time.monotonic() > deadline:
            raise SandboxError(f"processes {live} of uid {uid} survived SIGKILL for {SWEEP_SECONDS:.0f} s")
        for pid in live:
            _signal(pid)
        time.sleep(0.001)

"""Limits for a row's whole process tree: one cgroup per worker slot (cgroup v2 or v1), or rlimits only.

rlimits (set by the sandbox before exec) bound each process on its own: 64 processes may each use RLIMIT_DATA, shared
memory and tmpfs pages escape it, RLIMIT_NPROC counts the uid's tasks and RLIMIT_CPU each process's CPU. A cgroup
bounds the tree: memory with shared memory and tmpfs pages and no swap, the number of tasks, and the CPU time of all
of them (read while the run goes; the sandbox kills the tree beyond its budget).

`detect()` picks the first that works: cgroup v2 (the unified hierarchy with the `memory` and `pids` controllers
available in this process's own cgroup, as root or delegated to the user by systemd), cgroup v1 (`memory`, `pids` and
`cpuacct` hierarchies, writable as root), else rlimits only, with a warning that says why and how to get cgroups.

Layout: `<own cgroup>/oss-instruct-<pid namespace>-<pid>-<start time>-<n>/slot-<n>` in each hierarchy. The folder
names the executor's process: a later start removes the folders of dead executors (killing what is left in them),
never those of live ones or of another pid namespace. A run enters its slot's cgroup through `enter_argv`, a shell
that writes itself into the slot (v1: its `tasks`, v2: its `cgroup.procs`) and execs the rest: all the row starts is
in the cgroup from the first.
"""

from __future__ import annotations

import itertools
import logging
import os
import shlex
import signal
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "oss-instruct-"
LEAF = "oss-instruct-leaf"  # cgroup v2: where this cgroup's own processes move so that it may have children
KILL_SECONDS = 5.0
HINT = (
    "run the build as root (cgroup v1 or v2), or on a cgroup v2 system start it in a delegated scope: "
    "`systemd-run --user --scope -p Delegate=yes -- python -m dataset_builder ...`"
)
_warned: set[str] = set()  # reasons already logged in this process
_serial = itertools.count()  # tells apart the executors of one process


@dataclass
class Usage:
    """What a slot's tree did in its last run (None: not measured by this kind of limit)."""

    memory_peak: int | None = None  # bytes
    oom_killed: bool = False  # the kernel killed a process of the tree at the memory limit
    pids_limited: bool = False  # a fork or thread failed at the process limit
    cpu_seconds: float | None = None  # user + system time of the whole tree


class RowLimits:
    """Limits on a row's tree. This base is what rlimits only do: nothing beyond the sandbox's own rlimits."""

    name = "rlimits only"

    def describe(self) -> str:
        return f"limits: {self.name}"

    def prepare(self, slot: int, limits) -> None:
        """Make the slot's cgroup (once), set `limits` (a sandbox.Limits) and take the counters' baselines."""

    def enter_argv(self, slot: int) -> list[str]:
        """An argv prefix that puts the process into the slot's cgroup before it execs the rest."""
        return []

    def exceeded(self, slot: int, limits) -> str | None:
        """Asked while a run goes: "cpu" once the tree has used more than `limits.cpu_seconds`, "memory" once the
        kernel has killed part of it at the memory limit (the rest is not worth running), else None."""
        return None

    def usage(self, slot: int) -> Usage:
        return Usage()

    def kill(self, slot: int) -> None:
        """SIGKILL every process in the slot's cgroup and wait until none is left (rlimits only: the sandbox's own
        sweep, by the slot's uid and the pid namespace, is all there is)."""

    def close(self) -> None:
        """Kill what is left and remove every cgroup this made."""


class RlimitsOnly(RowLimits):
    def __init__(self, why: str) -> None:
        self.why = why
        self.name = f"rlimits only ({why})"


class Unavailable(Exception):
    """This kind of cgroup cannot be used here; the message says why."""


class Cgroups(RowLimits):
    """What cgroup v1 and v2 share: one folder per slot in each hierarchy (v2 has one hierarchy)."""

    ENTRY = "cgroup.procs"  # the file `enter_argv`'s shell writes itself into

    def __init__(self, bases: dict[str, Path]) -> None:
        self.bases = bases  # controller (v2: "unified") -> the folder this executor's cgroups go under
        pid, namespace = os.getpid(), os.stat("/proc/self/ns/pid").st_ino
        self.own = f"{PREFIX}{namespace}-{pid}-{_start_time(pid)}-{next(_serial)}"
        self._slots: dict[int, dict[str, Path]] = {}
        self._set: dict[int, tuple] = {}  # slot -> the limits last written
        self._baseline: dict[int, tuple[int, int, int]] = {}  # slot -> (cpu ns, oom kills, pids max events)

    def open(self) -> Cgroups:
        """Remove dead executors' cgroups, make this one's folder; Unavailable when that fails."""
        try:
            for base in self.bases.values():
                for entry in _children(base):
                    if entry.name.startswith(PREFIX) and entry.name != LEAF and not _alive(entry.name):
                        _remove([entry], self._rmdir)
        except OSError as error:
            raise Unavailable(f"cannot remove a dead executor's cgroup {error.filename}: {error.strerror}") from error
        made = []
        # removed at close(), or when this object is collected, or at the interpreter's exit, whichever comes first
        self._finalizer = weakref.finalize(self, _remove, made, self._rmdir)
        try:
            for base in self.bases.values():
                self._make(base / self.own)
                made.append(base / self.own)
        except OSError as error:
            self._finalizer()
            raise Unavailable(f"cannot create a cgroup under {base}: {error.strerror}") from error
        return self

    def folders(self, slot: int) -> dict[str, Path]:
        if slot not in self._slots:
            folders = {key: base / self.own / f"slot-{slot}" for key, base in self.bases.items()}
            for folder in folders.values():
                self._make(folder)
            self._slots[slot] = folders
        return self._slots[slot]

    def enter_argv(self, slot):
        writes = " && ".join(f"echo 0 > {shlex.quote(str(f / self.ENTRY))}" for f in self.folders(slot).values())
        return ["/bin/sh", "-c", f'{writes} && exec "$@"', "sh"]

    def prepare(self, slot, limits):
        self.kill(slot)  # nothing of an earlier run may count against this one
        wanted = (limits.memory_bytes, limits.processes)
        if self._set.get(slot) != wanted:
            self._limit_memory(slot, limits.memory_bytes)
            self._set[slot] = wanted
        self._limit_pids(slot, limits.processes)
        self._reset_peak(slot)
        self._baseline[slot] = (self._cpu_ns(slot), self._oom_kills(slot), self._pids_events(slot))

    def exceeded(self, slot, limits):
        cpu, oom, _ = self._baseline[slot]
        if self._oom_kills(slot) > oom:
            return "memory"
        return "cpu" if self._cpu_ns(slot) - cpu > limits.cpu_seconds * 1e9 else None

    def usage(self, slot):
        cpu, oom, pids = self._baseline[slot]
        return Usage(
            memory_peak=self._memory_peak(slot),
            oom_killed=self._oom_kills(slot) > oom,
            pids_limited=self._pids_events(slot) > pids,
            cpu_seconds=(self._cpu_ns(slot) - cpu) / 1e9,
        )

    def kill(self, slot):
        _kill_all(list(self.folders(slot).values()))

    def close(self):
        self._finalizer()  # once: later calls do nothing
        self._slots.clear()

    # v1 and v2 each write the limits and read the counters: _limit_memory, _limit_pids, _cpu_ns, _oom_kills,
    # _pids_events, _memory_peak

    def _make(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)

    _rmdir = staticmethod(os.rmdir)  # a cgroup's folder goes with its interface files in it

    def _reset_peak(self, slot: int) -> None:
        pass  # where the peak cannot be reset, `_memory_peak` says None


class CgroupV1(Cgroups):
    """cgroup v1: the memory, pids and cpuacct hierarchies, each its own tree."""

    CONTROLLERS = ("memory", "pids", "cpuacct")
    # The shell that enters the slot is one thread, so moving that thread (`tasks`) moves the whole process. Writing
    # `cgroup.procs` would take the kernel's global threadgroup lock for writing, which waits for an RCU grace period
    # whenever no other cgroup write came shortly before: ~8 ms of idle core per run here, against ~0.1 ms for `tasks`
    # (bench/cgroup_overhead.py).
    ENTRY = "tasks"

    def __init__(self, bases):
        super().__init__(bases)
        self.swap = (bases["memory"] / "memory.memsw.limit_in_bytes").exists()  # swap accounting is on
        self.name = "cgroup v1 (memory" + (" with swap" if self.swap else "") + ", pids, cpuacct)"

    def _limit_memory(self, slot, limit):
        memory = self.folders(slot)["memory"]
        if self.swap:  # memsw >= limit at every step: lift memsw, set the limit, then memsw to it (no swap)
            _write(memory / "memory.memsw.limit_in_bytes", "-1")
        _write(memory / "memory.limit_in_bytes", str(limit))
        if self.swap:
            _write(memory / "memory.memsw.limit_in_bytes", str(limit))

    def _limit_pids(self, slot, limit):
        pids = self.folders(slot)["pids"]
        # what is left of the last run (zombies not yet reaped by init) counts: the budget comes on top of it
        _write(pids / "pids.max", str(limit + int((pids / "pids.current").read_text())))

    def _reset_peak(self, slot):
        _write(self.folders(slot)["memory"] / "memory.max_usage_in_bytes", "0")

    def _cpu_ns(self, slot):
        return int((self.folders(slot)["cpuacct"] / "cpuacct.usage").read_text())

    def _oom_kills(self, slot):
        return _field(self.folders(slot)["memory"] / "memory.oom_control", "oom_kill")

    def _pids_events(self, slot):
        return _field(self.folders(slot)["pids"] / "pids.events", "max")

    def _memory_peak(self, slot):
        return int((self.folders(slot)["memory"] / "memory.max_usage_in_bytes").read_text())


class CgroupV2(Cgroups):
    """cgroup v2: one hierarchy; the memory and pids controllers enabled down to the slots."""

    name = "cgroup v2 (memory, pids, cpu.stat)"

    def __init__(self, base: Path) -> None:
        super().__init__({"unified": base})
        self.base = base

    def open(self):
        """Enable memory and pids for this cgroup's children. A cgroup with processes cannot enable controllers for
        its children ("no internal processes"), so its processes move into a leaf child first."""
        offered = (self.base / "cgroup.controllers").read_text().split()
        missing = [c for c in ("memory", "pids") if c not in offered]
        if missing:
            raise Unavailable(f"cgroup v2 does not offer {' and '.join(missing)} to {self.base}")
        try:
            if not {"memory", "pids"} <= set((self.base / "cgroup.subtree_control").read_text().split()):
                procs = (self.base / "cgroup.procs").read_text().split()
                if procs:
                    self._make(self.base / LEAF)
                    for pid in procs:
                        _move(self.base / LEAF, pid)
                _write(self.base / "cgroup.subtree_control", "+memory +pids")
        except OSError as error:
            raise Unavailable(f"cannot enable memory and pids under {self.base}: {error.strerror}") from error
        super().open()
        try:
            _write(self.base / self.own / "cgroup.subtree_control", "+memory +pids")
        except OSError as error:
            self.close()
            raise Unavailable(f"cannot enable memory and pids in {self.base / self.own}: {error.strerror}") from error
        return self

    def _limit_memory(self, slot, limit):
        folder = self.folders(slot)["unified"]
        _write(folder / "memory.max", str(limit))
        if (folder / "memory.swap.max").exists():  # swap is accounted (it is not when the kernel runs without)
            _write(folder / "memory.swap.max", "0")

    def _limit_pids(self, slot, limit):
        folder = self.folders(slot)["unified"]
        _write(folder / "pids.max", str(limit + int((folder / "pids.current").read_text())))

    def _cpu_ns(self, slot):
        return _field(self.folders(slot)["unified"] / "cpu.stat", "usage_usec") * 1000

    def _oom_kills(self, slot):
        return _field(self.folders(slot)["unified"] / "memory.events", "oom_kill")

    def _pids_events(self, slot):
        return _field(self.folders(slot)["unified"] / "pids.events", "max")

    def _memory_peak(self, slot):
        return None  # memory.peak (where there is one) counts since the slot's cgroup was made, not per run


def detect(mounts: str = "/proc/self/mounts", membership: str = "/proc/self/cgroup") -> RowLimits:
    """cgroup v2, else v1, else rlimits only (logged once per reason, with how to get cgroups)."""
    table, own = _mounts(Path(mounts).read_text()), _membership(Path(membership).read_text())
    reasons = []
    for attempt in (_v2, _v1):
        try:
            return attempt(table, own)
        except Unavailable as why:
            reasons.append(str(why))
        except OSError as error:  # a hierarchy laid out otherwise than expected (a file missing, not readable)
            reasons.append(f"{attempt.__name__.lstrip('_')}: {error.filename}: {error.strerror or error}")
    why = "; ".join(reasons)
    if why not in _warned:
        _warned.add(why)
        logger.warning("row limits: rlimits only, per process (%s). For limits on a row's whole tree, %s", why, HINT)
    return RlimitsOnly(why)


def _v2(table: dict[str, Path], own: dict[str, str]) -> CgroupV2:
    if "cgroup2" not in table or "" not in own:
        raise Unavailable("no cgroup v2 hierarchy")
    return CgroupV2(table["cgroup2"] / own[""].lstrip("/")).open()


def _v1(table: dict[str, Path], own: dict[str, str]) -> CgroupV1:
    missing = [c for c in CgroupV1.CONTROLLERS if c not in table or c not in own]
    if missing:
        raise Unavailable(f"no cgroup v1 {', '.join(missing)} hierarchy")
    return CgroupV1({c: table[c] / own[c].lstrip("/") for c in CgroupV1.CONTROLLERS}).open()


def _mounts(text: str) -> dict[str, Path]:
    """controller -> its v1 mount point, and "cgroup2" -> the unified mount point."""
    table = {}
    for line in text.splitlines():
        _, point, kind, options, *_ = line.split()
        if kind == "cgroup2":
            table.setdefault("cgroup2", Path(point))
        elif kind == "cgroup":
            for option in options.split(","):
                table.setdefault(option, Path(point))
    return table


def _membership(text: str) -> dict[str, str]:
    """controller -> this process's cgroup path in it; "" -> its v2 path."""
    own = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _write(path: Path, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _field(path: Path, key: str) -> int:
    """The number after `key` in a flat keyed file (memory.events, cpu.stat, oom_control)."""
    for line in path.read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    raise OSError(f"{path} has no {key!r} line: this kernel's cgroup files are not the ones expected")


def _move(folder: Path, pid: str) -> None:
    try:
        _write(folder / "cgroup.procs", pid)
    except ProcessLookupError:
        pass  # it exited since we read the list: nothing to move


def _children(folder: Path) -> list[Path]:
    return [Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]


def _kill_all(folders: list[Path]) -> None:
    """SIGKILL every process in `folders` until none is left (a fork bomb forks while we kill: pids.max bounds it)."""
    deadline = time.monotonic() + KILL_SECONDS
    while True:
        pids = {int(p) for folder in folders for p in (folder / "cgroup.procs").read_text().split()}
        if not pids:
            return
        if time.monotonic() > deadline:
            raise OSError(f"processes {sorted(pids)} in {folders[0]} survived SIGKILL for {KILL_SECONDS:.0f} s")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it exited while we looked: what we wanted
        time.sleep(0.001)


def _remove(folders: list[Path], rmdir) -> None:
    """Kill everything in executors' folders, then remove their slots and themselves."""
    for folder in folders:
        if folder.is_dir():
            slots = _children(folder)
            _kill_all([*slots, folder])
            for entry in slots:
                rmdir(entry)
            rmdir(folder)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None: no such process): with the pid it names one
    process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rpartition(b")")[2].split()[19])
    except (FileNotFoundError, ProcessLookupError):
        return None


def _alive(name: str) -> bool:
    """Whether the executor a folder is named after still runs (True where this process cannot tell)."""
    namespace, pid, start, *_ = [*name.removeprefix(PREFIX).split("-"), "", ""]
    if not (namespace == str(os.stat("/proc/self/ns/pid").st_ino) and pid.isdigit() and start.isdigit()):
        return True  # not named by one of ours, or by one in another pid namespace: never touched
    return _start_time(int(pid)) == int(start)

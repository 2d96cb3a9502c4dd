"""The cgroup v2 layout of dataset_builder/execution/cgroups.py against a fake cgroupfs: a folder holding the files a
v2 kernel would. This machine's unified hierarchy has no controllers, so only what is written where (the "no internal
processes" dance, the limits, the counters read back, stale folders) is checked here, not the kernel's enforcement."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dataset_builder.execution import cgroups
from dataset_builder.execution.sandbox import Limits

SCOPE = "user.slice/user-1000.slice/session-1.scope"
KERNEL_FILES = {  # what a v2 kernel puts in a new cgroup's folder
    "cgroup.procs": "",
    "cgroup.controllers": "memory pids",
    "cgroup.subtree_control": "",
    "pids.current": "0\n",
    "pids.events": "max 0\n",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
    "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
    "memory.swap.max": "max\n",
}


class FakeKernel(cgroups.CgroupV2):
    """CgroupV2 over a plain folder: mkdir lays out the kernel's files, rmdir takes them away."""

    def _make(self, folder):
        super()._make(folder)
        for name, text in KERNEL_FILES.items():
            if not (folder / name).exists():
                (folder / name).write_text(text)

    @staticmethod
    def _rmdir(folder):
        for entry in Path(folder).iterdir():
            if entry.is_file():
                entry.unlink()
        os.rmdir(folder)


@pytest.fixture
def fs(tmp_path):
    """A v2 hierarchy at tmp_path/cgroup whose session scope offers cpu, memory and pids and holds two processes."""
    root = tmp_path / "cgroupfs"
    scope = root / SCOPE
    scope.mkdir(parents=True)
    for name, text in {**KERNEL_FILES, "cgroup.controllers": "cpu memory pids", "cgroup.procs": "4242\n"}.items():
        (scope / name).write_text(text)
    (tmp_path / "mounts").write_text(f"cgroup2 {root} cgroup2 rw,nosuid,nodev,noexec 0 0\n")
    (tmp_path / "cgroup").write_text(f"0::/{SCOPE}\n")
    return tmp_path


def test_detect_picks_v2_and_moves_the_scopes_processes_into_a_leaf(fs):
    scope = fs / "cgroupfs" / SCOPE
    limits = cgroups.detect(fs / "mounts", fs / "cgroup")
    assert isinstance(limits, cgroups.CgroupV2) and limits.describe() == "limits: cgroup v2 (memory, pids, cpu.stat)"
    # "no internal processes": the scope's processes go to a leaf before it enables memory and pids for its children
    assert (scope / cgroups.LEAF / "cgroup.procs").read_text() == "4242"
    assert (scope / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (scope / limits.own / "cgroup.subtree_control").read_text() == "+memory +pids"
    shutil.rmtree(scope / limits.own)  # a plain folder: what the kernel's rmdir would do
    limits.close()
    assert not (scope / limits.own).exists() and (scope / cgroups.LEAF).is_dir()


def test_controllers_already_enabled_move_nothing(fs):
    scope = fs / "cgroupfs" / SCOPE
    (scope / "cgroup.subtree_control").write_text("cpu memory pids\n")
    limits = FakeKernel(scope).open()
    assert not (scope / cgroups.LEAF).exists()
    assert (scope / "cgroup.subtree_control").read_text() == "cpu memory pids\n"
    limits.close()


def test_memory_not_delegated_falls_back_to_rlimits(fs):
    (fs / "cgroupfs" / SCOPE / "cgroup.controllers").write_text("cpu pids\n")
    limits = cgroups.detect(fs / "mounts", fs / "cgroup")
    assert isinstance(limits, cgroups.RlimitsOnly)
    assert f"cgroup v2 does not offer memory to {fs / 'cgroupfs' / SCOPE}" in limits.why
    assert "no cgroup v1 memory, pids, cpuacct hierarchy" in limits.why


def test_a_hierarchy_laid_out_otherwise_falls_back_and_names_the_file(fs):
    (fs / "cgroup").write_text("0::/not/there\n")
    limits = cgroups.detect(fs / "mounts", fs / "cgroup")
    assert isinstance(limits, cgroups.RlimitsOnly)
    assert f"v2: {fs / 'cgroupfs' / 'not/there' / 'cgroup.controllers'}: No such file or directory" in limits.why


def test_limits_counters_and_the_enter_prefix(fs):
    limits = FakeKernel(fs / "cgroupfs" / SCOPE).open()
    slot = limits.folders(3)["unified"]
    assert slot == fs / "cgroupfs" / SCOPE / limits.own / "slot-3"
    row = Limits(memory_bytes=256 << 20, processes=32, cpu_seconds=2)
    limits.prepare(3, row)
    assert (slot / "memory.max").read_text() == str(256 << 20) and (slot / "memory.swap.max").read_text() == "0"
    assert (slot / "pids.max").read_text() == "32"
    (slot / "pids.current").write_text("3\n")  # zombies of the last run, not yet reaped: on top of the budget
    limits.prepare(3, row)
    assert (slot / "pids.max").read_text() == "35"

    assert limits.exceeded(3, row) is None and limits.usage(3) == cgroups.Usage(None, False, False, 0.0)
    (slot / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    assert limits.exceeded(3, row) == "cpu" and limits.usage(3).cpu_seconds == 2.5
    (slot / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    (slot / "pids.events").write_text("max 4\n")
    assert limits.exceeded(3, row) == "memory"
    assert limits.usage(3) == cgroups.Usage(memory_peak=None, oom_killed=True, pids_limited=True, cpu_seconds=2.5)
    limits.prepare(3, row)  # the next run's counters start from here
    assert limits.usage(3) == cgroups.Usage(None, False, False, 0.0)

    # the prefix really runs: the shell writes itself ("0") into cgroup.procs, then execs the command
    done = subprocess.run([*limits.enter_argv(3), "echo", "in the slot"], capture_output=True, text=True, check=True)
    assert done.stdout == "in the slot\n" and (slot / "cgroup.procs").read_text() == "0\n"
    (slot / "cgroup.procs").write_text("")
    limits.close()
    assert not (fs / "cgroupfs" / SCOPE / limits.own).exists()


def test_stale_folders_of_dead_executors_go_and_live_ones_stay(fs):
    scope = fs / "cgroupfs" / SCOPE
    maker = FakeKernel(scope)
    ns, me = os.stat("/proc/self/ns/pid").st_ino, os.getpid()
    dead = scope / f"{cgroups.PREFIX}{ns}-999999999-1-0"  # no such pid
    live = scope / f"{cgroups.PREFIX}{ns}-{me}-{cgroups._start_time(me)}-99"  # this very process
    reused = scope / f"{cgroups.PREFIX}{ns}-{me}-1-0"  # this pid, but another process's start time: dead
    elsewhere = scope / f"{cgroups.PREFIX}{ns + 1}-999999999-1-0"  # another pid namespace: cannot tell, kept
    for folder in (dead, live, reused, elsewhere, scope / "someone-else"):
        maker._make(folder)
        maker._make(folder / "slot-0")
    limits = FakeKernel(scope).open()
    assert not dead.exists() and not reused.exists()
    assert all((folder / "slot-0").is_dir() for folder in (live, elsewhere, scope / "someone-else"))
    limits.close()

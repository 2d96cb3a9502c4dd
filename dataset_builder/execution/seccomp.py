"""The system-call filter bubblewrap installs before the row's command (`bwrap --seccomp FD`).

Built with libseccomp (Debian `python3-seccomp`, the maintained bindings, which exist for the system interpreter
only, not for a virtual environment): `/usr/bin/python3` compiles the filter and prints it as BPF once per process;
each run hands the bytes to bwrap through a pipe. Everything is allowed except what a test never needs and an escape
or a kernel attack would: the syscalls in DENIED fail with EPERM, `clone` fails with EPERM when it asks for a new
namespace, and `clone3` (whose flags libseccomp cannot inspect) fails with ENOSYS, so libc falls back to `clone`.
A syscall of another architecture (x86's int 0x80 from an x86-64 process) kills the process (libseccomp's default).
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from dataset_builder.execution.processes import SandboxError

SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL_HINT = "apt-get install -y python3-seccomp"
DENIED = (
    # the kernel keyring (a session's secrets), io_uring, userfaultfd, perf: kernel attack surface
    "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "userfaultfd", "perf_event_open", "bpf", "lookup_dcookie",
    # mounts and namespaces (the old and the new mount API)
    "mount", "umount2", "pivot_root", "setns", "unshare",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev",
    # the machine itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "swapon", "swapoff", "reboot", "syslog", "acct", "quotactl", "open_by_handle_at",
)  # fmt: skip
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)

_EXPORT = """
import errno, json, sys
import seccomp
denied, flags = json.loads(sys.argv[1])
f = seccomp.SyscallFilter(seccomp.ALLOW)
for name in denied:
    f.add_rule(seccomp.ERRNO(errno.EPERM), name)
for flag in flags:
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
sys.stdout.flush()
f.export_bpf(sys.stdout)
"""
_CACHE: dict[str, bytes] = {}
_LOCK = threading.Lock()


def bpf() -> bytes:
    """The filter as BPF, compiled once per process."""
    with _LOCK:
        if "bpf" not in _CACHE:
            _CACHE["bpf"] = _compile()
        return _CACHE["bpf"]


def _compile() -> bytes:
    if not Path(SYSTEM_PYTHON).is_file():
        raise SandboxError(f"the sandbox's syscall filter is built by {SYSTEM_PYTHON}, which is missing: "
                           f"apt-get install -y python3 python3-seccomp")  # fmt: skip
    done = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", _EXPORT, json.dumps([DENIED, NAMESPACE_FLAGS])],
        capture_output=True,
        timeout=60,
        env={},
    )
    error = done.stderr.decode(errors="replace").strip()
    if done.returncode != 0 and "No module named 'seccomp'" in error:
        raise SandboxError(
            f"the sandbox's syscall filter needs libseccomp's Python bindings for {SYSTEM_PYTHON}: {INSTALL_HINT} "
            "(or set `sandbox: none` to run the code without isolation, an explicit choice the run warns about)"
        )
    if done.returncode != 0 or not done.stdout or len(done.stdout) % 8:
        raise SandboxError(f"could not build the sandbox's syscall filter with {SYSTEM_PYTHON} (exit "
                           f"{done.returncode}): {error[-2000:]}")  # fmt: skip
    return done.stdout

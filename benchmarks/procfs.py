"""What /proc says about processes and the host: memory high-water marks and CPU time (Linux only)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def status_mb(key: str) -> float:
    """A ``/proc/self/status`` memory figure (VmRSS, VmHWM) in MB.

    VmHWM rather than ``getrusage().ru_maxrss``: Linux carries ru_maxrss over ``execve``, so a
    child can inherit its parent's high-water mark, while VmHWM belongs to this address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (the emulators may fork helpers of their own)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone since the listing
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def cpu_seconds(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return ticks / CLOCK_TICKS


def host_busy_seconds() -> float:
    """CPU time all CPUs of the host have been busy (not idle, not waiting for I/O) since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS

"""Cold-process timing (wall, CPU, peak memory) and the machine's details, with the standard library only."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


@dataclass
class Run:
    """One process: wall seconds, user+system CPU seconds, peak resident memory (MiB), exit code, output."""

    wall: float
    cpu: float
    rss_mib: float
    code: int
    out: str = ""
    err: str = ""


def run(argv: list[str], *, env: dict | None = None, cwd: str | None = None) -> Run:
    """Start argv as a new process and wait for it; wait4 gives the CPU time and peak memory of it and the
    children it waited for (the largest process of the tree counts for memory)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode,
                   out.read().decode(errors="replace"), err.read().decode(errors="replace"))


@dataclass
class Series:
    """Repeated runs of one case."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.walls), max(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def n(self) -> int:
        return len(self.runs)


def fmt(seconds: float) -> str:
    """Seconds for a table: ms below one second (with decimals below 10 ms)."""
    if abs(seconds) < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.0f} ms" if abs(seconds) < 1 else f"{seconds:.2f} s"


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS and Python of this machine."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            distro = next((line.split("=", 1)[1].strip().strip('"') for line in f
                           if line.startswith("PRETTY_NAME=")), "")
    except OSError:
        pass
    return {"CPU": model or platform.processor() or "unknown", "cores": str(os.cpu_count()), "memory": mem,
            "OS": f"{distro or platform.system()}, kernel {platform.release()}", "arch": platform.machine()}


def version_of(python: str, dist: str) -> str:
    """The installed version of dist in the environment of python."""
    r = subprocess.run([python, "-c", f"from importlib.metadata import version; print(version({dist!r}))"],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "not installed"


def python_version(python: str) -> str:
    r = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                       capture_output=True, text=True)
    return r.stdout.strip()

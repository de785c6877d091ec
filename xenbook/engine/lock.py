"""The lock a run that changes a host holds on it (an apply, a sample host's reboot), so that two never change one
host at the same time."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass

from xenbook.core.errors import XenbookError
from xenbook.core.host import Host
from xenbook.core.paths import STATE_DIR

LOCK = f"{STATE_DIR}/lock"


class LockHeld(XenbookError):
    """Another run holds the target's lock; the message names it and says how to clear a dead one."""


@dataclass(frozen=True)
class Holder:
    """Who holds a target's lock: the run, its process, the machine it runs on and since when."""

    run: str = "?"
    pid: int = 0
    host: str = "?"
    since: str = "?"
    target: str = ""
    boot: str = ""  # the boot id of the machine the holder runs on: after a restart its pid means nothing
    start: str = ""  # its process's start time (/proc/PID/stat, ticks after boot): a reused pid has another

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), sort_keys=True) + "\n").encode()

    @classmethod
    def parse(cls, data: bytes | None) -> "Holder | None":
        """The holder a lock file names; an empty or broken file (one being written) gives unknown fields."""
        if data is None:
            return None
        try:
            raw = json.loads(data)
            return cls(**{k: raw[k] for k in ("run", "pid", "host", "since", "target", "boot", "start")
                          if k in raw})
        except (ValueError, TypeError, AttributeError):
            return cls()

    def alive_here(self) -> bool | None:
        """Whether the holder's process runs on this machine; None when it runs elsewhere or is unknown."""
        if self.host != socket.gethostname() or self.pid <= 0:
            return None
        if self.boot and self.boot != boot_id():
            return False  # this machine restarted since: that process is gone, whatever runs under its pid now
        found = process_start(self.pid)
        if found is None:  # no /proc here: whether the pid exists is all there is to know
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        if not found:
            return False  # gone, or a zombie: it ended and only waits for its parent to collect it
        return not self.start or self.start == found  # another start time: the pid was reused by another process


def process_start(pid: int) -> str | None:
    """The start time of process pid (field 22 of /proc/PID/stat); "" when it does not run (no such process, or a
    zombie that has ended), None where there is no /proc to tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except FileNotFoundError:
        return "" if os.path.isdir("/proc/self") else None
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may hold spaces and parentheses
    if len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return ""
    return fields[19]


def boot_id() -> str:
    """This machine's boot id (Linux), or "" where there is none."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def me(run_id: str, target: str) -> Holder:
    """This process as a lock holder for run_id."""
    return Holder(run_id, os.getpid(), socket.gethostname(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  target, boot_id(), process_start(os.getpid()) or "")


def read_holder(host: Host) -> Holder | None:
    """The current holder of host's lock, or None when nobody holds it."""
    return Holder.parse(host.read_bytes(LOCK))


def held_message(host: Host, holder: Holder, waited: float = 0.0) -> str:
    """What a run that finds the lock taken tells its user: who holds it, and how to clear a dead holder."""
    text = (f"another xenbook run (pid {holder.pid} on {holder.host} since {holder.since}) holds {host.target}'s "
            f"lock at {LOCK}; wait, or remove it if that run is dead")
    if waited:
        text += f" (waited {waited:g} s)"
    alive = holder.alive_here()
    if alive is False:
        text += (f"\n  pid {holder.pid} no longer runs on {holder.host}: that run is dead (killed, or its machine "
                 "restarted; a process that now has its pid started later)")
    elif alive is None:
        text += f"\n  check on {holder.host} whether pid {holder.pid} still runs (ps -p {holder.pid})"
    text += (f"\n  to remove the lock of a dead run: xenbook unlock --target {host.target} --run {holder.run}"
             "\n  then run again: steps the dead run left half-done are reported as interrupted and planned afresh")
    return text


def acquire(host: Host, run_id: str, *, wait: float = 0.0, poll: float = 0.5) -> bool:
    """Hold host's lock for run_id (waiting up to wait seconds); False when run_id holds it already, else True."""
    host.makedirs(STATE_DIR, 0o755)
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        if host.create_exclusive(LOCK, me(run_id, host.target).to_bytes(), mode=0o644):
            return True
        holder = read_holder(host)
        if holder is None:  # released in between: try again at once
            continue
        if holder.run == run_id:
            return False  # the notebooks of one `xenbook run` share its lock
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockHeld(held_message(host, holder, wait))
        time.sleep(min(poll, left))


def release(host: Host, run_id: str) -> bool:
    """Remove host's lock when run_id holds it; True when it did."""
    holder = read_holder(host)
    if holder is None or holder.run != run_id:
        return False
    host.remove(LOCK)
    return True

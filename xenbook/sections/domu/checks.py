"""What the guests' parameters mean on this host, checked before any step: the root password hash they name, and
memory, CPUs and a bridge the host has (or that the dom0 section makes)."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from xenbook.core.errors import ParameterError
from xenbook.core.host import Host
from xenbook.facts import network, system, xen
from xenbook.sections.domu.params import GuestParams

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams


def password_hash(g: GuestParams, prefix: str = "") -> str | None:
    """The root password hash, read from the file or environment variable the parameters name (on the machine that
    runs xenbook); ParameterError naming prefix + the parameter when it cannot be read or is no crypt(3) hash."""
    if g.root_password_hash_file:
        where = (f"{prefix}root_password_hash_file", g.root_password_hash_file)
        try:
            with open(g.root_password_hash_file) as f:
                value = f.read().strip()
        except OSError as e:
            raise ParameterError([(*where, f"cannot be read: {e.strerror}; name a file that holds root's "
                                           "password hash (openssl passwd -6 makes one)")]) from None
        except UnicodeDecodeError:
            raise ParameterError([(*where, "is not text: it must hold one crypt(3) hash such as $6$...")]) from None
    elif g.root_password_hash_env:
        where = (f"{prefix}root_password_hash_env", g.root_password_hash_env)
        value = os.environ.get(g.root_password_hash_env, "").strip()
        if not value:
            raise ParameterError([(*where, "is not set or empty in xenbook's environment: export it with root's "
                                           "password hash (openssl passwd -6 makes one), or leave the parameter "
                                           "out")])
    else:
        return None
    if not value.startswith("$") or any(c in value for c in ": \n"):
        raise ParameterError([(where[0], "(hidden)", "must hold one crypt(3) hash such as $6$... or $y$...")])
    return value


def _host_memory(host: Host) -> tuple[int, str] | None:
    state = xen.xen_state(host)
    if state.on_xen:
        info = xen.xl_info(host) if state.dom0 else None
        return (info.total_memory_mib, "xl info total_memory") if info and info.total_memory_mib else None
    found = system.memory_mib(host)
    return (found, "/proc/meminfo") if found else None


def _highest_cpu(cpus: str) -> int | None:
    numbers = [int(n) for item in cpus.split(",") if not item.startswith("nodes:") for n in re.findall(r"\d+", item)]
    return max(numbers) if numbers else None


def cpu_set(cpus: str, total: int | None) -> set[int] | None:
    """The CPUs a cpus list names, read left to right as xl reads it (^ takes CPUs away); None when it names NUMA
    nodes, or all CPUs of a host whose count is unknown."""
    chosen: set[int] = set()
    for item in cpus.split(","):
        if item.startswith("nodes:") or item == "all" and total is None:
            return None
        if item == "all":
            chosen |= set(range(total))
            continue
        first, _, last = item.lstrip("^").partition("-")
        span = set(range(int(first), int(last or first) + 1))
        chosen = chosen - span if item.startswith("^") else chosen | span
    return chosen


def check_guests(params: RunbookParams, host: Host) -> None:
    """ParameterError naming every guest parameter this host cannot take, before the first change: an unset or
    unreadable root password hash, memory beyond the host's, CPUs it lacks, a bridge that will not exist."""
    problems: list[tuple[str, object, str]] = []
    machine = not host.chroot  # a chroot's /proc and network are another machine's
    memory = _host_memory(host) if machine and params.guests else None
    cpus = xen.machine_cpus(host) if machine and any(g.cpus for g in params.guests) else None
    links = network.links(host) if machine and params.guests else {}
    made = params.dom0.bridge if params.dom0.network != "none" else None
    boot = params.boot
    pinned = boot.dom0_max_vcpus if boot.dom0_vcpus_pin and boot.dom0_max_vcpus else 0  # dom0's CPUs 0..pinned-1
    for i, g in enumerate(params.guests):
        at = f"guests.{i}."
        if g.state == "absent":  # shut down, not started: nothing of it needs to fit the host
            continue
        if g.bootstrap != "none":
            try:
                password_hash(g, at)
            except ParameterError as e:
                problems += e.problems
        if memory and g.memory > memory[0]:
            problems.append((at + "memory", g.memory, f"is more than this host's {memory[0]} MiB ({memory[1]}): "
                             "the guest cannot start; give it less memory"))
        highest = _highest_cpu(g.cpus) if g.cpus and cpus else None
        if highest is not None and highest >= cpus[0]:
            problems.append((at + "cpus", g.cpus, f"names CPU {highest} but this host has {cpus[0]} CPUs, 0 to "
                             f"{cpus[0] - 1} ({cpus[1]}): name CPUs it has"))
        named = cpu_set(g.cpus, cpus[0] if cpus else None) if g.cpus and pinned else None
        if named is not None and not named - set(range(pinned)):
            problems.append((at + "cpus", g.cpus, f"names only CPUs dom0 is pinned to (0 to {pinned - 1}, "
                             "boot.dom0_vcpus_pin): xl.conf's vm.cpumask keeps guests off them, so the guest's CPU "
                             f"map would be empty and xl create would fail; name CPUs from {pinned} on, or leave "
                             "cpus empty"))
        if links and g.bridge not in links and g.bridge != made:
            problems.append((at + "bridge", g.bridge, f"is no link on this host and the dom0 section does not make "
                             f"it (dom0.bridge is {params.dom0.bridge}, dom0.network {params.dom0.network}): set "
                             f"it to {params.dom0.bridge}, or create the bridge first"))
    if problems:
        raise ParameterError(problems)

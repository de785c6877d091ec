"""What Xen's command line gives dom0 on the sample host (xen-command-line: dom0_mem, dom0_max_vcpus)."""

from __future__ import annotations

import re


def _size_mib(text: str, total_mib: int) -> int | None:
    m = re.fullmatch(r"(-?)(\d+)([bBkKmMgGtT%]?)", text)
    if m is None:
        return None
    number, unit = int(m[2]), m[3].upper()
    mib = total_mib * number // 100 if unit == "%" else number * {"B": 1, "K": 1024, "": 1024, "M": 1024 ** 2,
                                                                 "G": 1024 ** 3, "T": 1024 ** 4}[unit] // 1024 ** 2
    return total_mib - mib if m[1] else mib


def dom0_allocation(xen_cmdline: str, total_mib: int, cpus: int) -> tuple[int, int | None, int]:
    """(dom0's memory in MiB, its max: or None, its vCPUs) from Xen's command line; without dom0_mem Xen keeps
    min(1/16 of memory, 128 MiB) for itself and gives dom0 the rest; without dom0_max_vcpus dom0 gets every CPU."""
    amount = low = high = None
    for word in xen_cmdline.split():
        if word.startswith("dom0_mem="):
            amount = low = high = None
            for part in word.split("=", 1)[1].split(","):
                kind, _, size = part.rpartition(":")
                value = _size_mib(size, total_mib)
                if kind == "min":
                    low = value
                elif kind == "max":
                    high = value
                else:
                    amount = value
    memory = amount if amount is not None else total_mib - min(total_mib // 16, 128)
    memory = min(memory, high) if high is not None else memory
    memory = max(memory, low) if low is not None else memory
    vcpus = cpus
    for word in xen_cmdline.split():
        m = re.fullmatch(r"dom0_max_vcpus=(\d+)(?:-(\d+))?", word)
        if m:
            vcpus = min(cpus, int(m[2] or m[1]))
    return memory, high, vcpus

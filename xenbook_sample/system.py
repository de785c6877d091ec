"""The sample host's SIMULATED system programs: dmesg (the kernel log) and df (GNU coreutils' format)."""

from __future__ import annotations

import os
import re

from xenbook.core.commands import Result
from xenbook_sample.host import find_device, mount_for
from xenbook_sample.options import Usage, options
from xenbook_sample.tree import STATE_DIR

BLOCK = 4096
PSEUDO = {"proc", "sysfs", "devpts", "securityfs", "cgroup2", "efivarfs", "debugfs", "tracefs", "bpf", "mqueue"}


# dmesg

def _stamp(seconds: float) -> str:
    return f"[{seconds:12.6f}]"


def _boot_log(host, state: dict) -> list[str]:
    """What the simulated kernel printed at boot: a few real-format lines, then the profile's own."""
    machine, run = state["machine"], state["running"]
    cpu = machine["cpu"]
    cmdline = (host.read_text("/proc/cmdline") or "").strip()
    lines = [
        (0.0, f"Linux version {run['kernel_release']} (linux@archlinux) (gcc (GCC) 15.2.1 20251112, GNU ld "
              f"(GNU Binutils) 2.45.1) {run['kernel_version']}"),
        (0.0, f"Command line: {cmdline}"),
        (0.0, "DMI: xenbook SIMULATED sample host/SIMULATED board, BIOS 1.0 11/20/2025"),
    ]
    if machine.get("iommu", True):
        table = "IVRS" if cpu["vendor"] == "AuthenticAMD" else "DMAR"
        lines.append((0.004812, f"ACPI: {table} 0x0000000079F2B000 000050 (v01 XENBK  SIMULATD 00000001 XBK  "
                                "00000001)"))
    lines.append((0.081377, f"smpboot: CPU0: {cpu['model_name']} (family: {cpu['family']:#x}, model: "
                            f"{cpu['model']:#x}, stepping: {cpu['stepping']:#x})"))
    if machine.get("iommu", True):
        lines.append((0.412906, "AMD-Vi: Interrupt remapping enabled" if cpu["vendor"] == "AuthenticAMD"
                      else "DMAR: IOMMU enabled"))
    root = next((m for m in state["mounts"] if m["target"] == "/"), None)
    if root is not None and root["fstype"] == "ext4":
        dev = find_device(state, root["source"]) or {}
        lines.append((1.203311, f"EXT4-fs ({root['source'].rsplit('/', 1)[-1]}): mounted filesystem "
                                f"{dev.get('uuid', '')} ro with ordered data mode. Quota mode: none."))
    for extra in machine.get("kernel_log", []):
        m = re.match(r"^\[\s*([0-9.]+)\]\s?(.*)$", extra)
        lines.append((float(m.group(1)), m.group(2)) if m else (0.0, extra))
    return [f"{_stamp(t)} {text}" for t, text in sorted(lines, key=lambda x: x[0])]


def dmesg(host, argv, stdin) -> Result:
    opts, args = options("dmesg", argv, "tk", ["notime", "kernel", "color="])
    if args:
        raise Usage("dmesg: bad usage\nTry 'dmesg --help' for more information.\n", 1)
    lines = _boot_log(host, host.load_state())
    if any(o in ("-t", "--notime") for o, _ in opts):
        lines = [line.split("] ", 1)[-1] for line in lines]
    return Result(0, "".join(line + "\n" for line in lines), "")


# df

DF_FIELDS = {"source": ("Filesystem", 14, False), "fstype": ("Type", 4, False), "size": ("", 5, True),
             "used": ("Used", 5, True), "avail": ("Avail", 5, True), "pcent": ("Use%", 4, True),
             "file": ("File", 4, False), "target": ("Mounted on", 0, False)}
_UNITS = "KMGTPE"


def _block_size(text: str) -> tuple[int, str]:
    """(bytes per block, suffix printed after each number) for a --block-size value such as 1, 1K, M."""
    m = re.match(r"^([0-9]*)([KMGTPE]?)$", text)
    if not m or not (m.group(1) or m.group(2)) or (m.group(1) and int(m.group(1)) == 0):
        raise Usage(f"df: invalid --block-size argument '{text}'\n", 1)
    power = _UNITS.index(m.group(2)) + 1 if m.group(2) else 0
    return int(m.group(1) or 1) * 1024 ** power, "" if m.group(1) else m.group(2)


def _blocks_header(size: int) -> str:
    for power in range(len(_UNITS), 0, -1):
        if size % 1024 ** power == 0:
            return f"{size // 1024 ** power}{_UNITS[power - 1]}-blocks"
    return f"{size}B-blocks"


def _files_bytes(root: str, skip: set[str]) -> int:
    """Bytes the files and folders under root take in whole blocks, leaving out nested mounts in skip."""
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        total += BLOCK
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            total += -(-st.st_size // BLOCK) * BLOCK
    return total


def _usage(host, state: dict, mount: dict) -> tuple[int, int, int]:
    """(size, used, avail) in bytes of a mounted filesystem, derived from its partition and its files."""
    fstype = mount["fstype"]
    if fstype in PSEUDO:
        return 0, 0, 0
    others = {host.real(m["target"]) for m in state["mounts"] if m["target"] != mount["target"]}
    others.add(host.real(f"/{STATE_DIR}"))
    used = _files_bytes(host.real(mount["target"]), others) if os.path.isdir(host.real(mount["target"])) else 0
    if fstype in ("tmpfs", "devtmpfs"):
        m = re.search(r"size=(\d+)k", mount["options"])
        size = int(m.group(1)) * 1024 if m else 0
        used = used if mount["target"] == "/tmp" else 0
        return size, used, max(0, size - used)
    part = (find_device(state, mount["source"]) or {}).get("size") or 0
    if fstype.startswith("ext"):
        journal = min(max(part // 32, 4 << 20), 1 << 30)
        size = (part - part // 64 - journal) // BLOCK * BLOCK
        used += 24576
        reserved = size // 20
    else:
        size, reserved = (part - part // 256) // BLOCK * BLOCK, 0
    return size, used, max(0, size - used - reserved)


def df(host, argv, stdin) -> Result:
    opts, args = options("df", argv, "B:kT", ["block-size=", "output=", "print-type"])
    block, suffix, fields = 1024, "", ["source", "size", "used", "avail", "pcent", "target"]
    for o, v in opts:
        if o in ("-B", "--block-size"):
            block, suffix = _block_size(v)
        elif o == "-k":
            block, suffix = 1024, ""
        elif o in ("-T", "--print-type"):
            fields.insert(1, "fstype")
        elif o == "--output":
            fields = [f.strip() for f in v.split(",") if f.strip()] if v else list(DF_FIELDS)
            unknown = [f for f in fields if f not in DF_FIELDS]
            if unknown:
                raise Usage(f"df: option --output: field '{unknown[0]}' unknown\n"
                            "Try 'df --help' for more information.\n", 1)
    custom = any(o == "--output" for o, _ in opts)
    state = host.load_state()
    rows, errors = [], []
    for arg in args:
        if not host.exists(arg if arg.startswith("/") else "/" + arg):
            errors.append(f"df: {arg}: No such file or directory\n")
            continue
        rows.append((arg, mount_for(state, arg)))
    if not args:
        rows = [("-", m) for m in state["mounts"] if m["fstype"] not in PSEUDO]
    table = [[_cell(f, block, suffix, arg, m, _usage(host, state, m)) for f in fields] for arg, m in rows]
    header = [_blocks_header(block) if f == "size" else
              "Available" if f == "avail" and not custom else DF_FIELDS[f][0] for f in fields]
    widths = [max([DF_FIELDS[f][1], len(h)] + [len(r[i]) for r in table]) for i, (f, h) in
              enumerate(zip(fields, header))]
    out = ""
    for r in [header] + table:
        cells = [v.rjust(w) if DF_FIELDS[f][2] else v.ljust(w) for v, w, f in zip(r, widths, fields)]
        if not DF_FIELDS[fields[-1]][2]:
            cells[-1] = r[-1]
        out += " ".join(cells) + "\n"
    return Result(1 if errors else 0, out if table else "", "".join(errors))


def _cell(field: str, block: int, suffix: str, arg: str, mount: dict,
          usage: tuple[int, int, int]) -> str:
    size, used, avail = usage
    numbers = {"size": size // block, "used": -(-used // block), "avail": avail // block}
    if field in numbers:
        return f"{numbers[field]}{suffix}"
    if field == "pcent":
        return "-" if used + avail == 0 else f"{-(-used * 100 // (used + avail))}%"
    return {"source": mount["source"], "fstype": mount["fstype"], "target": mount["target"], "file": arg}[field]


PROGRAMS = {"dmesg": dmesg, "df": df}

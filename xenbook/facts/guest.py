"""Facts about an Arch guest of Xen: its guest type, the entry its boot menu starts, its clock and kernel log."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenbook.core.commands import Command
from xenbook.core.host import Host
from xenbook.edits import grubentry, shellvars
from xenbook.facts.xen import xen_state

GUEST_TYPE = "/sys/hypervisor/guest_type"
CLOCKSOURCE = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
MENU_LST = "/boot/grub/menu.lst"
GRUB_CFG = "/boot/grub/grub.cfg"
GRUB_DEFAULTS = "/etc/default/grub"


def guest_role(host: Host) -> str:
    """dom0, PV, PVH, HVM (a Xen guest of that type), "Xen guest" (type unknown), chroot, or none."""
    if host.chroot:
        return "chroot"  # a chroot's /sys and /proc, when bound at all, are the outer machine's
    state = xen_state(host)
    if state.dom0:
        return "dom0"
    if not state.on_xen:
        return "none"
    return (host.read_text(GUEST_TYPE) or "").strip() or "Xen guest"


@dataclass(frozen=True)
class BootEntry:
    """The entry a boot menu starts without a menu: what pygrub boots."""

    title: str
    kernel: str | None  # the kernel path as the menu names it
    args: str
    note: str = ""  # how the default was chosen, when that matters
    initrd: str | None = None  # the last initrd line's whole argument: pygrub takes it as one path


def kernel_exists(host: Host, path: str) -> bool:
    """path names a file on the guest, read from /boot's filesystem (a separate /boot) or from /."""
    return any(host.exists(p) for p in (path, "/boot" + path))


def legacy_entries(text: str) -> list[dict]:
    """menu.lst's entries as {title, root, kernel, args, initrd, module} in order (lists of the lines' arguments)."""
    entries: list[dict] = []
    for raw in text.splitlines():
        words = raw.split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        key, rest = words[0], (words[1].strip() if len(words) > 1 else "")
        if key == "title":
            entries.append({"title": rest, "root": "", "kernel": None, "args": "", "initrd": [], "module": []})
        elif entries and key == "root":
            entries[-1]["root"] = rest
        elif entries and key == "kernel" and rest:
            entries[-1]["kernel"], _, entries[-1]["args"] = rest.partition(" ")
        elif entries and key in ("initrd", "module") and rest:
            entries[-1][key].append(rest)
    return entries


def legacy_default(text: str) -> int:
    """The default entry's index: the last `default N` before the first title (0 when none or `saved`)."""
    index = 0
    for raw in text.splitlines():
        words = raw.split()
        if words[:1] == ["title"]:
            break
        if words[:1] == ["default"] and len(words) > 1:
            index = int(words[1]) if words[1].isdigit() else 0
    return index


def legacy_boot_entry(text: str) -> BootEntry | None:
    entries = legacy_entries(text)
    if not entries:
        return None
    index = legacy_default(text)
    note = "" if index < len(entries) else f"default {index} names no entry, so the first one boots; "
    e = entries[index] if index < len(entries) else entries[0]
    return BootEntry(e["title"], e["kernel"], e["args"].strip(), note, e["initrd"][-1] if e["initrd"] else None)


def _grub_linux_lines(text: str) -> list[tuple[str, str | None, str, str | None]]:
    """(title, linux path, args, initrd argument) of every menuentry in grub.cfg, submenus flattened."""
    out: list[tuple[str, str | None, str, str | None]] = []
    current: list | None = None
    for raw in text.splitlines():
        m = re.match(r"^\s*menuentry\s+'([^']*)'", raw)
        if m:
            current = [m.group(1), None, "", None]
            out.append(current)
            continue
        words = raw.split(None, 2)
        if current is not None and words[:1] in (["linux"], ["linux16"], ["linuxefi"]) and len(words) > 1:
            current[1], current[2] = words[1], words[2] if len(words) > 2 else ""
        elif current is not None and words[:1] in (["initrd"], ["initrd16"]) and len(words) > 1:
            current[3] = raw.split(None, 1)[1].strip()  # pygrub's Grub2Image keeps the last initrd line
    return [tuple(e) for e in out]


def grub2_boot_entry(host: Host) -> BootEntry | None:
    """The entry pygrub starts from grub.cfg: `set default` by number, title or id; saved entries count as 0."""
    text = host.read_text(GRUB_CFG)
    if text is None:
        return None
    entries = _grub_linux_lines(text)
    if not entries:
        return None
    spec = grubentry.default_setting(text) or "0"
    note = ""
    if spec in ("${saved_entry}", "saved") or "$" in spec:
        wanted = shellvars.get_vars(host.read_text(GRUB_DEFAULTS) or "").get("GRUB_DEFAULT", "0")
        note = (f"GRUB_DEFAULT={wanted} uses grubenv, which pygrub does not read: it boots the first entry; ")
        spec = "0"
    ids = [i for _t, i in grubentry.menu_entries(text)]
    if spec.isdigit() and int(spec) < len(entries):
        index = int(spec)
    elif spec in ids:
        index = ids.index(spec)
    else:
        titles = [e[0] for e in entries]
        index = titles.index(spec) if spec in titles else 0
        note += "" if spec in titles else f"the default '{spec}' names no entry, so the first one boots; "
    title, kernel, args, initrd = entries[index]
    return BootEntry(title, kernel, args.strip(), note, initrd)


def clock(host: Host) -> tuple[str, str]:
    """(RTC mode: UTC or LOCAL, clock source) from timedatectl when it answers, else /etc/adjtime."""
    result = host.run(Command.of("timedatectl", "show", "--property=LocalRTC", "--value"))
    if result.ok and result.stdout.strip() in ("yes", "no"):
        mode = "LOCAL" if result.stdout.strip() == "yes" else "UTC"
    else:
        lines = (host.read_text("/etc/adjtime") or "").splitlines()
        mode = lines[2].strip().upper() if len(lines) > 2 and lines[2].strip() else "UTC"
    return mode, (host.read_text(CLOCKSOURCE) or "").strip()


APIC_PANIC = re.compile(r"Kernel panic|apic=debug", re.I)


def apic_panic_lines(host: Host) -> list[str]:
    """Kernel log lines of an APIC panic ("use apic=debug and send an error report"), this boot and the
    last one the journal kept."""
    lines: list[str] = []
    for argv in (("dmesg",), ("journalctl", "-k", "-b", "-1", "--no-pager", "-q")):
        result = host.run(Command.of(*argv))
        if result.ok:
            lines += result.stdout.splitlines()
    panics = [line for line in lines if APIC_PANIC.search(line)]
    return panics if any("apic" in line.lower() for line in panics) else []


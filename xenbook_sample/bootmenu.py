"""The boot menus the sample host's SIMULATED firmware and loaders read, and the entry each would start.

BIOS starts the profile's loader (GRUB 2: grub.cfg's default, with grubenv; GRUB legacy: menu.lst's default).
UEFI walks the firmware's BootOrder: systemd-boot (loader.conf's default entry) or xen.efi with its xen.cfg.
Every entry's files are resolved on the partition the entry names, as the loader would find them."""

from __future__ import annotations

import dataclasses
import fnmatch
import posixpath
import re
import shlex

from xenbook_sample.efi import take_oneshot
from xenbook_sample.grubenv import GRUBENV, edit_env, read_grubenv
from xenbook_sample.grubscript import run_header
from xenbook_sample.host import block_devices, find_device, mount_for
from xenbook_sample.xenefi import get_value, pre_parse



@dataclasses.dataclass
class Entry:
    """A boot entry as the loader reads it: host paths resolved on the partition the entry names."""

    title: str
    loader: str
    kernel: tuple[str, str, str | None] | None = None  # (command, loader-side path, host path) of Linux / dom0
    kernel_args: str = ""
    xen: tuple[str, str, str | None] | None = None  # the hypervisor, when the entry loads one
    xen_args: str = ""
    files: list = dataclasses.field(default_factory=list)  # every (command, path, host path) it loads
    problem: str = ""  # why the loader itself cannot run the entry


def _resolve(state: dict, device: dict | None, path: str) -> str | None:
    """The host path of a loader-side path on device ("(hd0,gpt2)/x" names its own device)."""
    m = re.match(r"^\((hd\d+),(?:gpt|msdos)?(\d+)\)(.*)$", path)
    if m:
        device = next((p for d in block_devices(state) for p in d["children"]
                       if p["grub"]["compat"].split(",")[0] == m.group(1) and str(p["partn"]) == m.group(2)), None)
        path = m.group(3)
    target = next((mt["target"] for mt in state["mounts"] if device and mt["source"] == device["path"]), None)
    return None if target is None else posixpath.normpath(target.rstrip("/") + "/" + path.lstrip("/"))


def _add(entry: Entry, state: dict, device, command: str, path: str) -> tuple[str, str, str | None]:
    item = (command, path, _resolve(state, device, path))
    entry.files.append(item)
    return item


# GRUB 2

def _grub_items(text: str) -> list:
    """grub.cfg's menu as nested lists: ("entry", title, id, lines) and ("submenu", title, id, children)."""
    root: list = []
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"^(menuentry|submenu|function)\s+(.*)\{$", line)
        if m:
            try:
                words = shlex.split(m.group(2))
            except ValueError:
                words = [m.group(2)]
            ident = next((words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--id", "$menuentry_id_option")), "")
            item = (m.group(1), words[0] if words else "", ident, [])
            stack[-1].append(item) if m.group(1) != "function" else None
            stack.append(item[3])
        elif line == "}" and len(stack) > 1:
            stack.pop()
        elif len(stack) > 1:
            stack[-1].append(line)
    return root


def _pick(items: list, spec: str):
    """The entry a GRUB default names: index, id or title, '>' into submenus; a submenu means its first entry."""
    node = None
    for part in spec.split(">"):
        menu = [i for i in (node[3] if node else items) if isinstance(i, tuple)]
        node = next((i for n, i in enumerate(menu) if part in (str(n), i[1], i[2])), None)
        if node is None:
            return None
    while node[0] == "submenu" and any(isinstance(i, tuple) for i in node[3]):
        node = next(i for i in node[3] if isinstance(i, tuple))
    return node if node[0] == "menuentry" else None


def _flat(items: list) -> list:
    return [x for i in items if isinstance(i, tuple) for x in ([i] if i[0] == "menuentry" else _flat(i[3]))]


def _grub_entry(state: dict, prefix_dev: dict | None, item) -> Entry:
    entry, device = Entry(item[1], "grub2"), prefix_dev
    for line in item[3]:
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        cmd, args = (words[0], words[1:]) if words else ("", [])
        if cmd == "search" and ("--set=root" in args or "root" in args):
            device = find_device(state, f"UUID={args[-1]}") if "--fs-uuid" in args or "-u" in args else device
        elif cmd == "set" and args and args[0].startswith("root="):
            name = args[0].split("=", 1)[1].strip("()")
            device = next((p for d in block_devices(state) for p in d["children"] if p["grub"]["compat"] == name),
                          None)
        elif cmd in ("linux", "linux16", "linuxefi") and args:
            entry.kernel, entry.kernel_args = _add(entry, state, device, cmd, args[0]), " ".join(
                [f"BOOT_IMAGE={args[0]}"] + args[1:])
        elif cmd in ("multiboot2", "multiboot") and args:
            entry.xen, entry.xen_args = _add(entry, state, device, cmd, args[0]), " ".join(args[1:])
        elif cmd in ("module2", "module", "initrd", "initrd16", "initrdefi"):
            paths = [a for a in args if not a.startswith("--")]
            if cmd.startswith("module") and paths and entry.kernel is None:
                entry.kernel, entry.kernel_args = _add(entry, state, device, cmd, paths[0]), " ".join(paths[1:])
            else:
                for p in paths if cmd.startswith("initrd") else paths[:1]:
                    _add(entry, state, device, cmd, p)
        elif cmd == "chainloader":
            entry.problem = f"the entry '{item[1]}' chainloads another loader, which the simulation does not follow"
    return entry


def grub2_entries(host, state: dict) -> tuple[list[Entry], Entry | None, str]:
    """All menu entries, the default one and how GRUB chose it."""
    text = host.read_text("/boot/grub/grub.cfg")
    prefix_dev = find_device(state, mount_for(state, "/boot/grub")["source"])
    if text is None:
        return [], None, "GRUB found no /boot/grub/grub.cfg (grub rescue>)"
    block = host.read_bytes(GRUBENV) or b""
    ran, saved = run_header(text, dict(read_grubenv(block) or []), {"/boot/grub/grubenv": bool(block)})
    spec = ran.get("default") or "0"
    if "next_entry" in saved and not ran.get("next_entry"):
        edit_env(host, "grub-editenv", GRUBENV, "unset", ["next_entry"])  # 00_header's one-time default
    items = _grub_items(text)
    entries = [_grub_entry(state, prefix_dev, i) for i in _flat(items)]
    chosen = _pick(items, spec) or next((i for i in _flat(items) if spec in (i[1], i[2])), None)
    if chosen is None and entries:
        return entries, entries[0], f"GRUB's default '{spec}' names no entry, so it boots the first"
    return entries, entries[_flat(items).index(chosen)] if chosen else None, ""


# GRUB legacy

def legacy_entries(host, state: dict) -> tuple[list[Entry], Entry | None, str]:
    """menu.lst's entries and its default (the last `default N` before the first title)."""
    text = host.read_text("/boot/grub/menu.lst")
    if text is None:
        return [], None, "GRUB legacy found no /boot/grub/menu.lst"
    default, entries, device = 0, [], None
    for raw in text.splitlines():
        m = re.match(r"^\s*([a-z_]+)(?:[\s=]+(.*))?$", raw) if not raw.strip().startswith("#") else None
        cmd, rest = (m.group(1), (m.group(2) or "").strip()) if m else ("", "")
        if cmd == "default" and not entries:
            default = int(rest) if rest.strip().isdigit() else 0
        elif cmd == "title":
            entries.append(Entry(rest.strip(), "grub-legacy"))
        elif entries and cmd == "root":
            m = re.match(r"^\(hd(\d+),(\d+)\)$", rest.strip())
            disks = block_devices(state)
            device = next((p for p in disks[int(m.group(1))]["children"] if p["partn"] == int(m.group(2)) + 1),
                          None) if m and int(m.group(1)) < len(disks) else None
        elif entries and cmd in ("kernel", "module", "initrd") and rest.split():
            path, args = rest.split()[0], " ".join(rest.split()[1:])
            e = entries[-1]
            if cmd == "kernel" and posixpath.basename(path).startswith("xen"):
                e.xen, e.xen_args = _add(e, state, device, cmd, path), args
            elif cmd == "kernel" or (cmd == "module" and e.xen and e.kernel is None):
                e.kernel, e.kernel_args = _add(e, state, device, cmd, path), args
            else:
                _add(e, state, device, cmd, path)
    chosen = entries[default] if default < len(entries) else (entries[0] if entries else None)
    return entries, chosen, ""


# UEFI: the firmware's boot order, systemd-boot, xen.efi with xen.cfg

def _xen_efi(host, state: dict, esp: dict | None, efi_path: str, title: str) -> Entry:
    entry = Entry(title, "xen.efi")
    entry.xen = _add(entry, state, esp, "efi", efi_path)
    folder, base = posixpath.split(efi_path)
    base = base[:-4] if base.lower().endswith(".efi") else base
    names = [base] + [base[:i] for i in range(len(base) - 1, 0, -1) if base[i] in ".-_"]
    cfg_path = next((p for p in (_resolve(state, esp, f"{folder}/{n}.cfg") for n in names) if p and host.exists(p)),
                    None)
    data = host.read_bytes(cfg_path) if cfg_path else None
    if data is None:
        entry.problem = f"xen.efi found no usable {folder.rstrip('/')}/{base}.cfg (No configuration file found.)"
        return entry
    lines, _warning = pre_parse(data)  # a last line without its newline is dropped
    name = get_value(lines, "global", "default")
    kernel = (get_value(lines, name, "kernel") or "").split(None, 1)  # split_string: the file, then its options
    if not kernel:
        entry.problem = f"xen.cfg has no section '{name or ''}' with a kernel= line (No Dom0 kernel image specified.)"
        return entry
    entry.xen_args = get_value(lines, name, "options") or ""
    entry.kernel = _add(entry, state, esp, "kernel=", f"{folder}/{kernel[0]}")
    entry.kernel_args = kernel[1] if len(kernel) > 1 else ""
    for key in ("ramdisk", "ucode", "xsm"):
        if get_value(lines, name, key):
            _add(entry, state, esp, f"{key}=", f"{folder}/{get_value(lines, name, key)}")
    return entry


def _sd_boot(host, state: dict, esp: dict | None) -> tuple[list[Entry], Entry | None, str]:
    mount = _resolve(state, esp, "/")
    conf = host.read_text(f"{mount}/loader/loader.conf") or ""
    default = ([line.split(None, 1)[1].strip() for line in conf.splitlines() if line.split()[:1] == ["default"]
                and len(line.split()) > 1] or [""])[-1]
    names = sorted(n for n in host.listdir(f"{mount}/loader/entries") or [] if n.endswith(".conf"))
    entries = []
    for name in names:
        keys: dict[str, list[str]] = {}
        for line in (host.read_text(f"{mount}/loader/entries/{name}") or "").splitlines():
            if line.strip() and not line.startswith("#"):
                k, _, v = line.strip().partition(" ")
                keys.setdefault(k, []).append(v.strip())
        title = (keys.get("title") or [name])[0]
        if keys.get("efi"):
            entries.append(_xen_efi(host, state, esp, keys["efi"][0], title))
            continue
        e = Entry(title, "systemd-boot", kernel_args=" ".join(keys.get("options", [])))
        e.kernel = _add(e, state, esp, "linux", (keys.get("linux") or ["/missing-linux-line"])[0])
        for path in keys.get("initrd", []):
            _add(e, state, esp, "initrd", path)
        entries.append(e)
    once = take_oneshot(host)  # LoaderEntryOneShot: this boot only (the loader removes it)
    default = once or default
    chosen = next((e for e, n in zip(entries, names) if default and fnmatch.fnmatch(n, default)),
                  entries[0] if entries else None)
    return entries, chosen, "" if entries else "systemd-boot found no entries in /loader/entries"


def uefi_entries(host, state: dict) -> tuple[list[Entry], Entry | None, str]:
    """The first BootOrder entry whose file exists: xen.efi itself, or systemd-boot and its menu."""
    efi, skipped = state.get("efi") or {}, []
    once = efi.pop("boot_next", None)  # BootNext: tried first on this boot only, cleared by the firmware
    for num in ([once] if once else []) + efi.get("boot_order", []):
        item = efi["entries"].get(num)
        m = re.match(r"^HD\(\d+,GPT,([0-9a-fA-F-]+),[^)]*\)/File\((.+)\)$", (item or {}).get("path", ""))
        if not item or not item.get("active") or not m:
            continue
        esp = find_device(state, f"PARTUUID={m.group(1)}")
        path = m.group(2).replace("\\", "/")
        local, local_esp = _resolve(state, esp, path), _resolve(state, esp, "/")
        if local is None or not host.exists(local):
            skipped.append(f"Boot{num} ({item['label']}): {path} not found")
            continue
        efi["boot_current"] = num
        if posixpath.basename(path).lower().startswith("xen"):
            entry = _xen_efi(host, state, esp, path, item["label"])
            return [entry], entry, ""
        if "systemd-boot" in (host.read_text(local) or "") or host.exists(f"{local_esp}/loader/loader.conf"):
            return _sd_boot(host, state, esp)
    return [], None, "the firmware found nothing bootable" + (f" ({'; '.join(skipped)})" if skipped else "")

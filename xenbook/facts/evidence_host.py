"""Evidence for the doctor about the machine itself: the boot configuration in effect (grub.cfg and its default,
systemd-boot's loader.conf and EFI variable, the firmware's entries, xen.cfg, Secure Boot), what Xen left (privcmd,
/proc/xen), and facts as "key=value" lines; gather() reads every source (evidence.py holds the logs and tools)."""

from __future__ import annotations

import re

from xenbook.core.errors import HostError
from xenbook.core.host import Host
from xenbook.facts import boot as bootfacts
from xenbook.facts import evidence as ev_mod
from xenbook.facts import firmware, kernel, xen
from xenbook.facts.evidence import Evidence, read_lines, run_lines
from xenbook.facts.network import network_files

GRUB_CFG, GRUB_DEFAULTS, GRUBENV = "/boot/grub/grub.cfg", "/etc/default/grub", "/boot/grub/grubenv"
EFI_LOADER_VARS = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"  # systemd's loader vendor GUID (bootctl(1), BOOT_LOADER_INTERFACE)
QEMU_DM = "/usr/lib/xen/bin/qemu-system-i386"
XENDOMAINS_CONF, XL_CONF, SAVE_DIR = "/etc/conf.d/xendomains", "/etc/xen/xl.conf", "/var/lib/xen/save"
_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_MENUENTRY = re.compile(r"""^(?:menuentry|submenu)\s+(['"])(.*?)\1.*?"""
                        r"""(?:(?:--id|\$menuentry_id_option)\s+['"]?([^'"\s{]+)['"]?)?\s*\{""")


def _value(text: str | None, key: str) -> str | None:
    """KEY's value in a shell-variable or grubenv file (the last assignment), quotes removed."""
    found = None
    for line in (text or "").splitlines():
        m = _ASSIGN.match(line)
        if m and m.group(1) == key:
            found = m.group(2).strip().strip("'\"")
    return found


def _top_entries(grub_cfg: str) -> list[tuple[str, str]]:
    """(title, id) of grub.cfg's top-level menu entries and submenus, in menu order (GRUB_DEFAULT=N counts both)."""
    out = []
    for line in grub_cfg.splitlines():
        m = _MENUENTRY.match(line)  # top level: no indentation
        if m:
            out.append((m.group(2), m.group(3) or ""))
    return out


def grub_default_entry(grub_cfg: str, defaults: str | None, grubenv: str | None) -> str:
    """What GRUB boots without a key press: "ID (TITLE)" of the entry GRUB_DEFAULT (or, with saved, grubenv's
    saved_entry) selects; the raw value when no entry matches."""
    wanted = _value(defaults, "GRUB_DEFAULT") or "0"
    if wanted == "saved":
        wanted = _value(grubenv, "saved_entry") or "0"
    entries = _top_entries(grub_cfg)
    if wanted.isdigit():
        index = int(wanted)
        return f"{entries[index][1]} ({entries[index][0]})" if index < len(entries) else wanted
    first = wanted.split(">")[0]
    hit = next((e for e in entries if first in e), None)
    return f"{hit[1]} ({hit[0]})" if hit else wanted


_BOOT_ENTRY = re.compile(r"^Boot([0-9A-Fa-f]{4})\*?\s+(.*)$")


def efi_first_entry(lines: list[str]) -> str:
    """"NNNN LABEL" of the entry the firmware tries first (BootNext, else BootOrder's first), from efibootmgr's
    listing; "" when it names none."""
    values = dict(line.split(":", 1) for line in lines if line.startswith(("BootNext:", "BootOrder:")))
    first = (values.get("BootNext") or values.get("BootOrder", "")).strip().split(",")[0].upper()
    labels = {m.group(1).upper(): m.group(2).split("\t")[0].strip() for m in map(_BOOT_ENTRY.match, lines) if m}
    return f"{first} {labels.get(first, '?')}" if first else ""


def _efivar_text(host: Host, name: str) -> str | None:
    try:
        data = host.read_bytes(f"/sys/firmware/efi/efivars/{name}-{EFI_LOADER_VARS}")
    except HostError:
        return None
    return None if data is None or len(data) < 6 else data[4:].decode("utf-16-le", "replace").rstrip("\x00")


def boot_config(host: Host, ev: Evidence) -> None:
    mode = bootfacts.boot_mode(host)
    loader = bootfacts.boot_loader(host)
    ev.fact("boot_mode", mode)
    ev.fact("loader", loader or "unknown")
    if host.exists(GRUB_CFG) or host.exists(GRUB_DEFAULTS):
        grub_cfg = read_lines(host, ev, "grub.cfg", GRUB_CFG) or ""
        defaults = read_lines(host, ev, "grub.defaults", GRUB_DEFAULTS)
        grubenv = read_lines(host, ev, "grubenv", GRUBENV)
        ev.fact("grub_default_entry", grub_default_entry(grub_cfg, defaults, grubenv))
        ev.fact("grub_next_entry", _value(grubenv, "next_entry") or "")
    esp = bootfacts.esp_path(host)
    if mode == "uefi":
        run_lines(host, ev, "efibootmgr", "efibootmgr", "-v")
        ev.fact("secure_boot", {True: "on", False: "off", None: "unknown"}[firmware.secure_boot(host)])
        ev.fact("efi_first_entry", efi_first_entry(ev.sources.get("efibootmgr") or []))
        ev.add("loader.entries", [])  # none, unless systemd-boot's are read below
    if esp and host.exists(f"{esp}/loader/loader.conf"):
        read_lines(host, ev, "loader.conf", f"{esp}/loader/loader.conf")
        entries = host.listdir(f"{esp}/loader/entries") or []
        ev.add("loader.entries", entries)
        ev.fact("loader_efivar_default", _efivar_text(host, "LoaderEntryDefault") or "")
        ev.fact("loader_efivar_oneshot", _efivar_text(host, "LoaderEntryOneShot") or "")
    if esp and host.exists(f"{esp}/xen.efi"):
        data = host.read_bytes(f"{esp}/xen.cfg")
        ev.fact("xen_efi", "present")
        ev.fact("xen_cfg", "missing" if data is None else "present")
        if data is not None:
            text = data.decode("utf-8", "replace")
            ev.add("xen.cfg", text)
            ev.fact("xen_cfg_ascii", data.isascii())
            for key, value in xen_cfg_facts(text, lambda name: host.exists(f"{esp}/{name}")):
                ev.fact(key, value)


def xen_cfg_facts(text: str, exists) -> list[tuple[str, str]]:
    """What would stop xen.efi at this xen.cfg: "xen_cfg_section=missing NAME" when [global]'s default= names no
    section (xen.efi: "No initial domain kernel specified."), "xen_cfg_missing_file=KEY=FILE" for each kernel=/ramdisk=
    file not beside xen.efi (xen.efi: "Open failed for FILE: Not found"). exists(name) looks a name up beside
    xen.efi (a name with a leading backslash from the ESP's root)."""
    found = {}
    current = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = found.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            key, value = line.split("=", 1)
            current.setdefault(key.strip(), value.strip())  # the first occurrence wins, as in xen.efi's get_value
    name = found.get("global", {}).get("default", "")
    if not name:  # what xen.efi then does is not checked here
        return []
    if name not in found:
        return [("xen_cfg_section", f"missing {name}")]
    out = []
    for key in ("kernel", "ramdisk"):
        parts = found[name].get(key, "").split()
        if parts and not exists(parts[0].replace("\\", "/").lstrip("/")):
            out.append(("xen_cfg_missing_file", f"{key}={parts[0]}"))
    return out


def xen_facts(host: Host, ev: Evidence) -> None:
    try:
        version = xen.xen_package_version(host)
    except HostError as e:
        version = None
        ev.unreadable["packages"] = str(e)
    ev.fact("xen_installed", version is not None)
    ev.fact("xen_version", version or "")
    state = xen.xen_state(host)
    ev.fact("hypervisor", "xen" if state.on_xen else "none")
    ev.fact("dom0", state.dom0)
    ev.fact("privcmd", host.exists("/dev/xen/privcmd") or host.exists("/proc/xen/privcmd"))
    ev.fact("proc_xen", host.exists("/proc/xen/capabilities"))
    ev.fact("qemu_dm", host.exists(QEMU_DM))
    run_lines(host, ev, "xl.info", "xl", "info", keep_failure=True)
    run_lines(host, ev, "xl.dmesg", "xl", "dmesg", keep_failure=True)
    try:
        config = bootfacts.kernel_config(host)
    except HostError:
        config = None
    ev.fact("kernel_compression", kernel.kernel_compression(config) or "unknown")


def system_facts(host: Host, ev: Evidence) -> None:
    cmdline = read_lines(host, ev, "proc.cmdline", "/proc/cmdline") or ""
    try:
        root = host.fact(bootfacts.mounts).get("/")
    except HostError as e:
        root, ev.unreadable["root"] = None, f"findmnt: {e}"
    if root is not None:
        ev.fact("root_fstype", root.fstype)
        ev.fact("root_subvolume", root.subvolume)
    ev.fact("cmdline_rootflags", "rootflags=" in cmdline)
    modules = kernel.loaded_modules(host) or []
    ev.add("modules", modules)
    for key in ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables"):
        value = host.read_text(f"/proc/sys/net/bridge/{key}")
        ev.fact(key.replace("-", "_"), value.strip() if value is not None else "absent")
    xendomains = read_lines(host, ev, "xendomains.conf", XENDOMAINS_CONF)
    save = _value(xendomains, "XENDOMAINS_SAVE") if xendomains is not None else None
    ev.fact("xendomains_save", "/var/lib/xen/save" if save is None and xendomains is not None else save or "")
    saved = host.listdir(SAVE_DIR) or []
    sizes = [(n, host.stat(f"{SAVE_DIR}/{n}")) for n in saved]
    ev.add("save.dir", [f"{SAVE_DIR}/{n} {info.size if info else '?'} bytes" for n, info in sizes])
    ev.fact("saved_images", len(saved))
    read_lines(host, ev, "xl.conf", XL_CONF)
    lines = []
    try:
        for path, text in network_files(host):
            lines += [f"{path}: {line.strip()}" for line in text.splitlines()
                      if line.strip() and not line.lstrip().startswith(("#", ";"))]
    except HostError as e:
        ev.unreadable["networkd"] = str(e)
    else:
        ev.add("networkd", lines)


def gather(host: Host, journal_lines: int = ev_mod.LINE_CAP) -> Evidence:
    """Every source the doctor reads, in one Evidence (read-only; never raises for what it cannot read)."""
    ev = Evidence()
    for read in (xen_facts, boot_config, system_facts, ev_mod.units, ev_mod.network, ev_mod.ledger):
        try:
            read(host, ev)
        except HostError as e:
            ev.unreadable[read.__name__] = str(e)
    ev_mod.journals(host, ev, journal_lines)
    run_lines(host, ev, "dmesg", "dmesg")
    ev_mod.xen_logs(host, ev)
    if host.chroot:  # its /proc, /sys, kernel log and links are the machine's that runs the chroot
        for name in ("proc.cmdline", "dmesg", "modules", "ip.link", "ip.addr", "ip.route", "units", "xl.info",
                     "xl.dmesg"):
            ev.sources.pop(name, None)
            ev.unreadable[name] = "a chroot target: this describes the machine running the chroot, not the system in it"
        ev.sources["facts"] = [f for f in ev.sources.get("facts", []) if not f.startswith(
            ("hypervisor=", "dom0=", "privcmd=", "proc_xen=", "bridge_nf_", "boot_mode=", "secure_boot="))]
    return ev

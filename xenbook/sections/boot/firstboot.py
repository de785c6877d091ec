"""A safe first boot (boot.first_boot: once): the new Xen entry boots once, and becomes the default only after Xen
came up as dom0; a boot that fails (a hang, a panic, a watchdog or a power cycle) brings back the old default.

- GRUB 2: GRUB_DEFAULT=saved, `grub-set-default OLD` (saved_entry) and `grub-reboot xenbook-xen` (next_entry in
  grubenv, which 00_header's `if [ "${next_entry}" ]` boots once and clears); refused when grubenv lies on LVM or
  RAID (grub-probe's abstraction lvm or diskfilter), where GRUB cannot clear it and grub-reboot itself warns that the
  entry stays the default;
- systemd-boot: `bootctl set-oneshot xenbook-xen.conf` (the EFI variable LoaderEntryOneShot, which the loader
  removes as it reads it);
- the firmware (NVRAM): `efibootmgr --bootnext XXXX` (BootNext, which the firmware clears at boot);
- GRUB legacy: refused; its `savedefault --once` is a distribution patch, not GRUB 0.97's own.

Once the host runs Xen as dom0 the boot steps write the entry as the default (their usual make_default path);
/var/lib/xenbook/first-boot records what was armed (the entry's digest and the boot it was armed in), so a Xen entry
that came back without Xen is not armed again until it changes, and the dom0 section says what happened."""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

from xenbook.core.actions import Plan, RemoveFile, RunCommand, WriteFile
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError, PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import Step
from xenbook.edits import blocks, grubentry, shellvars
from xenbook.facts import xen

if TYPE_CHECKING:  # the whole parameter set is assembled above the sections, from each one's model
    from xenbook.engine.params import RunbookParams

SECTION = "boot"
FIRST_BOOT_MARK = "/var/lib/xenbook/first-boot"
BOOT_ID = "/proc/sys/kernel/random/boot_id"
GRUBENV = "/boot/grub/grubenv"
EFI_GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
LOADER_VENDOR = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"  # systemd-boot's vendor GUID (the Boot Loader Interface)
ONESHOT_VAR = f"/sys/firmware/efi/efivars/LoaderEntryOneShot-{LOADER_VENDOR}"


def first_boot_once(params: RunbookParams, path: str) -> bool:
    """Whether the new entry boots once first: boot.first_boot, else once on ssh targets (a remote box whose entry
    does not boot needs a trip to its console) and default elsewhere. GRUB legacy has no one-time boot."""
    mode = params.boot.first_boot or ("once" if params.target.startswith("ssh:") else "default")
    if mode == "once" and path == "grub-legacy":
        if params.boot.first_boot is None:
            return False  # the default for ssh targets: the entry is made the default, as on other targets
        raise ParameterError([("boot.first_boot", "once", (
            "needs a one-time boot, which GRUB legacy (menu.lst) has not: `savedefault --once` is a distribution "
            "patch, not GRUB 0.97's; set first_boot to default, or boot with GRUB 2 or UEFI"))])
    return mode == "once"


def on_xen(host: Host) -> bool:
    """The verification's criterion: the machine runs Xen as dom0 now."""
    return host.fact(xen.xen_state).dom0


def boot_id(host: Host) -> str:
    return (host.read_text(BOOT_ID) or "").strip()


def read_mark(host: Host) -> dict | None:
    try:
        mark = json.loads(host.read_text(FIRST_BOOT_MARK) or "null")
    except ValueError:
        return None
    return mark if isinstance(mark, dict) else None


def came_back_without_xen(host: Host) -> dict | None:
    """The first-boot record when its one-time boot happened (the machine booted since it was armed) and the
    machine runs without Xen: the Xen entry did not come up and the old default booted again."""
    mark = read_mark(host)
    if mark is None or on_xen(host) or mark.get("boot_id") == boot_id(host):
        return None
    return mark


def entry_digest(host: Host, paths: tuple[str, ...]) -> str:
    """sha256 of the files that make the Xen entry, as they are now."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.encode() + b"\0" + (host.read_bytes(path) or b"") + b"\0")
    return h.hexdigest()


def grub_old_default(old_defaults: str) -> str:
    """The default entry /etc/default/grub names outside xenbook's block (GRUB's own default, 0, when none)."""
    value = shellvars.get_vars(blocks.remove_block(old_defaults, "boot")).get("GRUB_DEFAULT", "") or "0"
    return value


def grubenv_values(host: Host) -> dict[str, str]:
    """grubenv's name=value lines (GRUB's environment block; its backslash escapes are rare and kept as they are)."""
    data = host.read_bytes(GRUBENV) or b""
    if not data.startswith(b"# GRUB Environment Block\n"):
        return {}
    pairs = (line.split("=", 1) for line in data.decode("utf-8", "replace").rstrip("#").splitlines()[1:]
             if "=" in line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def efi_string(data: bytes | None) -> str | None:
    """An efivarfs file holding a UTF-16LE string (4 attribute bytes first), without its NUL."""
    if data is None or len(data) < 4:
        return None
    return data[4:].decode("utf-16-le", "replace").rstrip("\0")


class OneTimeBoot(Step):
    """The Xen entry is armed to boot once on the next boot (while the host does not run Xen yet)."""

    section = SECTION
    loader = ""
    files: tuple[str, ...] = ()

    def armed(self, host: Host) -> bool:
        raise NotImplementedError

    def arm(self, host: Host) -> list[RunCommand]:
        raise NotImplementedError

    def plan(self, host: Host) -> Plan:
        mark = read_mark(host)
        if on_xen(host):
            done = "running Xen as dom0: the Xen entry came up, and the steps above make it the default"
            if mark is not None:
                return Plan.change(f"{done}; its first-boot record is done", RemoveFile(FIRST_BOOT_MARK,
                                                                                      host.read_bytes(FIRST_BOOT_MARK)))
            return Plan.ok(done)
        digest = entry_digest(host, self.files)
        if self.armed(host):
            return Plan.ok(f"the next boot starts the Xen entry once ({self.loader}); if Xen does not come up, the "
                           "boot after it is the old default again")
        failed = came_back_without_xen(host)
        if failed is not None and failed.get("digest") == digest:
            return Plan.fail(
                f"the Xen entry booted once ({self.loader}) and the machine came back without Xen: the old default "
                "stays the default, and the same entry is not armed again",
                "xenbook doctor says why; change what it names (the entry is then armed again), or to retry the same "
                "entry, remove /var/lib/xenbook/first-boot and apply again")
        record = json.dumps({"loader": self.loader, "digest": digest, "boot_id": boot_id(host)}, sort_keys=True)
        old = host.read_bytes(FIRST_BOOT_MARK)
        return Plan.change(f"arm the Xen entry for the next boot only ({self.loader}); the old default stays the "
                           "default until Xen came up as dom0",
                           *self.arm(host), WriteFile(FIRST_BOOT_MARK, old, record.encode() + b"\n", mode=0o644))


class GrubOneTimeBoot(OneTimeBoot):
    """GRUB 2: grub-set-default keeps the old default in saved_entry, grub-reboot puts the Xen entry in next_entry."""

    loader = "grub-reboot"

    def __init__(self, defaults_path: str, custom_path: str):
        self.defaults_path = defaults_path
        self.files = (custom_path, defaults_path)

    def armed(self, host: Host) -> bool:
        return grubenv_values(host).get("next_entry") == grubentry.ENTRY_ID

    def arm(self, host: Host) -> list[RunCommand]:
        old = grub_old_default(host.read_text(self.defaults_path) or "")
        if old == grubentry.ENTRY_ID:  # saved_entry would be the Xen entry: a failed boot would come back to it
            raise PreconditionFailed(
                f"GRUB_DEFAULT={old} is set in {self.defaults_path} outside xenbook's block: a one-time boot needs "
                "another default entry to come back to when Xen does not come up",
                f"set GRUB_DEFAULT there to the entry that boots today (e.g. 0), or set boot.first_boot to default")
        probe = host.run(Command.of("grub-probe", "--target=abstraction", GRUBENV))
        found = sorted({"diskfilter", "lvm"} & set(probe.stdout.split())) if probe.ok else []
        if found:  # grub-reboot's own warning: GRUB cannot clear next_entry there, so the entry stays the default
            raise PreconditionFailed(
                f"{GRUBENV} lies on {'/'.join(found)}, where GRUB cannot write its environment block: the entry "
                "grub-reboot names would stay the default after a failed boot (grub-reboot warns so itself)",
                "set boot.first_boot to default (and keep a console at hand for the first boot), or keep /boot on "
                "a plain partition")
        keep = [] if old == "saved" else [RunCommand(Command.of("grub-set-default", old))]
        return keep + [RunCommand(Command.of("grub-reboot", grubentry.ENTRY_ID))]


class SystemdBootOneTimeBoot(OneTimeBoot):
    """systemd-boot: bootctl set-oneshot writes LoaderEntryOneShot, which the loader boots once and removes."""

    loader = "bootctl set-oneshot"

    def __init__(self, entry_id: str, files: tuple[str, ...]):
        self.entry_id, self.files = entry_id, files

    def armed(self, host: Host) -> bool:
        return efi_string(host.read_bytes(ONESHOT_VAR)) == self.entry_id

    def arm(self, host: Host) -> list[RunCommand]:
        if not host.exists("/sys/firmware/efi/efivars"):
            raise ParameterError([("boot.first_boot", "once", (
                "needs the EFI variables (bootctl set-oneshot writes LoaderEntryOneShot), and "
                "/sys/firmware/efi/efivars is not mounted: mount efivarfs, or set first_boot to default"))])
        return [RunCommand(Command.of("bootctl", "set-oneshot", self.entry_id))]


def firmware_entry(listing: str, label: str) -> str | None:
    """The Boot#### number of the firmware entry labelled label, from efibootmgr's listing."""
    m = re.search(rf"^Boot([0-9A-F]{{4}})\*? {re.escape(label)}(\t|\s|$)", listing, re.M)
    return m.group(1) if m else None


class FirmwareOneTimeBoot(OneTimeBoot):
    """The firmware: efibootmgr --bootnext makes the Xen entry BootNext, which the firmware boots once and clears."""

    loader = "efibootmgr --bootnext"

    def __init__(self, label: str, files: tuple[str, ...]):
        self.label, self.files = label, files

    def _listing(self, host: Host) -> str:
        return host.run(Command.of("efibootmgr")).stdout

    def armed(self, host: Host) -> bool:
        listing = self._listing(host)
        num = firmware_entry(listing, self.label)
        return bool(num) and re.search(rf"^BootNext: {num}$", listing, re.M) is not None

    def arm(self, host: Host) -> list[RunCommand]:
        num = firmware_entry(self._listing(host), self.label)
        if num is None:
            return []  # planned before the entry exists (a dry run): the step after FirmwareXenEntry arms it
        return [RunCommand(Command.of("efibootmgr", "--bootnext", num))]


class FirmwareXenFirst(Step):
    """Once Xen came up as dom0, the firmware's Xen entry is first in BootOrder (the default)."""

    section = SECTION

    def __init__(self, label: str):
        self.label = label

    def plan(self, host: Host) -> Plan:
        if not on_xen(host):
            return Plan.ok("not running Xen yet: the firmware's boot order stays as it was until Xen came up")
        listing = host.run(Command.of("efibootmgr")).stdout
        num = firmware_entry(listing, self.label)
        m = re.search(r"^BootOrder: ([0-9A-F,]*)$", listing, re.M)
        order = m.group(1).split(",") if m and m.group(1) else []
        if num is None or (order and order[0] == num):
            return Plan.ok(f"the firmware boots {self.label!r} first")
        new = ",".join([num] + [n for n in order if n != num])
        return Plan.change(f"Xen came up as dom0: boot {self.label!r} first (BootOrder {new})",
                           RunCommand(Command.of("efibootmgr", "--bootorder", new)))

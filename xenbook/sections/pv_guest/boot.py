"""console=hvc0 on an Arch guest's kernel command line, in whichever boot configuration it uses, and the check
that pygrub (which shows no menu) boots a kernel that exists."""

from __future__ import annotations

from xenbook.core.actions import Plan
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Step
from xenbook.edits import blocks, menulst, shellvars
from xenbook.facts import boot as bootfacts
from xenbook.facts import guest as guestfacts
from xenbook.sections.boot.cmdline import HVC0, with_hvc0
from xenbook.sections.boot.steps import GrubCfgRegeneration
from xenbook.sections.pv_guest.params import PvGuestParams

SECTION = "pv-guest"
CONSOLE = HVC0
GRUB_DEFAULTS, GRUB_CFG, MENU_LST = guestfacts.GRUB_DEFAULTS, guestfacts.GRUB_CFG, guestfacts.MENU_LST
BLOCK, ENTRY_BLOCK, DEFAULT_BLOCK = "pv-guest", "pv-guest-entry", "pv-guest-default"
EARLY_INITRDS = "GRUB_EARLY_INITRD_LINUX_STOCK"  # 10_linux's *-ucode.img list, put before the real initrd
NO_MICROCODE = "a guest cannot load microcode anyway, Xen updates it for the whole machine"


class GuestGrubCmdline(FileStep):
    """/etc/default/grub gives the guest's kernel console=hvc0 and one initrd (no early microcode images), in a xenbook
    block after the user's own values."""

    section, path, validator = SECTION, GRUB_DEFAULTS, "shell"
    triggers = ("GuestGrubConfig",)

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{GRUB_DEFAULTS} is missing: the guest does not boot with GRUB 2",
                                     "set loader to grub-legacy or direct")
        own = shellvars.get_vars(blocks.remove_block(old, BLOCK)).get("GRUB_CMDLINE_LINUX_DEFAULT", "")
        body = ("# Managed by xenbook: no *-ucode.img initrds, since pygrub loads one initrd (and\n"
                f"# {NO_MICROCODE});\n# your GRUB_CMDLINE_LINUX_DEFAULT above, with the Xen console hvc0 last.\n"
                + shellvars.render_assignments([(EARLY_INITRDS, ""),
                                                ("GRUB_CMDLINE_LINUX_DEFAULT", with_hvc0(own))]))
        return blocks.ensure_block(old, BLOCK, body)


class GuestGrubConfig(GrubCfgRegeneration):
    """grub.cfg is regenerated, and the entry pygrub boots carries console=hvc0 and loads one initrd."""

    section = SECTION
    hint = (f"is GRUB_CMDLINE_LINUX_DEFAULT or {EARLY_INITRDS} set again after xenbook's block, or does "
            "GRUB_EARLY_INITRD_LINUX_CUSTOM name a microcode image?")

    def stale(self, host: Host) -> str | None:
        entry = guestfacts.grub2_boot_entry(host)
        if entry is None:
            return f"{GRUB_CFG} is missing or has no Linux entry"
        if CONSOLE not in entry.args.split():
            return f"the default entry '{entry.title}' lacks {CONSOLE}"
        if entry.initrd and len(entry.initrd.split()) > 1:
            return f"the default entry '{entry.title}' loads several initrds ({entry.initrd}); pygrub loads one"
        return None


class GuestMenuLstEntry(FileStep):
    """menu.lst holds a copy of the default entry with console=hvc0, booted by default (pygrub boots the default)."""

    section, path, validator = SECTION, MENU_LST, "menu-lst"

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{MENU_LST} is missing: the guest does not boot with GRUB legacy",
                                     "set loader to grub2 or direct")
        outside = blocks.remove_block(blocks.remove_block(old, ENTRY_BLOCK), DEFAULT_BLOCK)
        entries = guestfacts.legacy_entries(outside)
        index = guestfacts.legacy_default(outside)
        plain = [e for e in entries if e["kernel"] and not e["kernel"].rsplit("/", 1)[-1].startswith("xen")]
        if not plain:
            raise PreconditionFailed(f"{MENU_LST} has no entry that boots a Linux kernel to copy",
                                     "add the guest's entry (title, root, kernel, initrd) by hand, then run again")
        base = entries[index] if index < len(entries) and entries[index] in plain else plain[0]
        lines = [f"title  {base['title']} (Xen guest, console on hvc0)"] + (
            [f"root   {base['root']}"] if base["root"] else []) + [
            f"kernel {base['kernel']} {with_hvc0(base['args'])}"] + [f"initrd {i}" for i in base["initrd"]]
        text = blocks.ensure_block(old, ENTRY_BLOCK, "\n".join(lines) + "\n")
        begin, _end = blocks.markers(ENTRY_BLOCK)
        number = len(menulst.titles(text[:text.index(begin)]))
        body = (f"# Managed by xenbook: pygrub shows no menu, so entry {number} (the guest's, with {CONSOLE}) "
                f"boots.\ndefault {number}\n")
        return menulst.ensure_block_before_entries(text, DEFAULT_BLOCK, body)


def fstab_mounts(host: Host) -> dict[str, str]:
    """fstab's mount points and their devices (comments left out)."""
    out = {}
    for line in (host.read_text("/etc/fstab") or "").splitlines():
        fields = line.split()
        if len(fields) > 1 and not fields[0].startswith("#"):
            out[fields[1]] = fields[0]
    return out


def root_option(host: Host) -> str:
    """root= for the guest's kernel: the running one's, else fstab's / device, else /dev/xvda1."""
    for word in (host.read_text("/proc/cmdline") or "").split():
        if word.startswith("root="):
            return word
    root = fstab_mounts(host).get("/")
    return f"root={root}" if root else "root=/dev/xvda1"


# xen-grub-pv64 (AUR, refutationalist's PKGBUILD) installs this image for 64-bit PV guests; xen-grub-pvh's
# /usr/lib/xen/boot/pvhgrub boots only PVH guests. The image's built-in grub.cfg looks for /boot/grub.cfg, /grub.cfg,
# /boot/grub2/grub.cfg, /boot/grub/menu.lst ... but never /boot/grub/grub.cfg, the file grub-mkconfig writes.
PVGRUB64 = "/usr/lib/xen/boot/pvgrub64"


def pvgrub_config(host: Host) -> tuple[str, str]:
    """(the guest's file pvgrub64's built-in config finds, the line in it that loads grub-mkconfig's grub.cfg)."""
    if "/boot" in fstab_mounts(host):  # /boot's own filesystem: GRUB sees /boot/grub/grub.cfg as /grub/grub.cfg
        return "/boot/grub.cfg (/grub.cfg on the /boot filesystem)", "configfile /grub/grub.cfg"
    return "/boot/grub.cfg", "configfile /boot/grub/grub.cfg"


class DirectBootCmdline(Step):
    """For a guest dom0 boots directly, the xl cfg lines that give its kernel console=hvc0 (nothing to edit here)."""

    section = SECTION

    def plan(self, host: Host) -> Plan:
        lines = ['kernel  = "/var/lib/xen/boot/NAME/vmlinuz-linux"',
                 'ramdisk = "/var/lib/xen/boot/NAME/initramfs-linux.img"',
                 f'cmdline = "{root_option(host)} rw {CONSOLE}"']
        config, line = pvgrub_config(host)
        return Plan.check("ok", "; ".join(lines), "dom0 boots this guest's kernel, so its command line is in dom0's "
                          "/etc/xen/NAME.cfg: put these lines there (copy the guest's /boot/vmlinuz-linux and "
                          "initramfs to dom0 after each kernel update). Or let GRUB inside the guest boot it: for a "
                          f'PV guest, kernel = "{PVGRUB64}" (AUR package xen-grub-pv64; pvhgrub is for PVH guests '
                          "only) and set loader to grub2. That image's built-in config looks for /boot/grub.cfg, "
                          "/grub.cfg, /boot/grub2/grub.cfg and menu.lst, not for /boot/grub/grub.cfg, so give the "
                          f"guest a {config} holding the line '{line}'",
                          facts={"pv_guest": {"xl_cfg": lines, "pvgrub": {"kernel": PVGRUB64, "config": config,
                                                                           "line": line}}})


class PygrubDefaultEntry(Step):
    """The entry pygrub boots without a menu is the default one, its kernel exists, and its initrd line names one
    initramfs that exists (pygrub takes the whole line as one path)."""

    section = SECTION

    def __init__(self, loader: str):
        self.loader = loader

    def initrd_check(self, host: Host, entry: guestfacts.BootEntry, value: str) -> Plan | str:
        """A blocking Plan for an initrd pygrub cannot load, else what to add to the ok reason."""
        files = (entry.initrd or "").split()
        if not files:
            return "; no initrd"
        later = ""
        if len(files) > 1:
            why = (f"pygrub takes the initrd line of '{entry.title}' ({entry.initrd}) as one file name, so the "
                   "guest does not boot")
            if self.loader != "grub2":
                return Plan.check("blocking", value, f"{entry.note}{why}", f"keep only the initramfs on that "
                                  f"entry's initrd line in {MENU_LST}: {NO_MICROCODE}", fail=True)
            custom = shellvars.get_vars(host.read_text(GRUB_DEFAULTS) or "").get("GRUB_EARLY_INITRD_LINUX_CUSTOM", "")
            named = [f for f in files[:-1] if f.rsplit("/", 1)[-1] in custom.split()]
            if named:
                return Plan.check("blocking", value, f"{entry.note}{why}; GRUB_EARLY_INITRD_LINUX_CUSTOM in "
                                  f"{GRUB_DEFAULTS} adds {', '.join(named)}", "take the microcode images out of "
                                  f"GRUB_EARLY_INITRD_LINUX_CUSTOM: {NO_MICROCODE}; then run again", fail=True)
            later = (f"; its initrd line names {len(files)} files, which pygrub cannot load: grub.cfg is regenerated "
                     f"with {EARLY_INITRDS} empty, leaving {files[-1]} ({NO_MICROCODE})")
        if not guestfacts.kernel_exists(host, files[-1]):
            return Plan.check("blocking", value, f"{entry.note}pygrub boots '{entry.title}', whose initrd "
                              f"{files[-1]} does not exist", "rebuild it (mkinitcpio -P), or make the default entry "
                              "one whose initramfs is installed", fail=True)
        return later or f"; initrd {files[0]} exists"

    def plan(self, host: Host) -> Plan:
        if self.loader == "grub2":
            entry, where = guestfacts.grub2_boot_entry(host), GRUB_CFG
        else:
            text = host.read_text(MENU_LST)
            entry, where = (guestfacts.legacy_boot_entry(text) if text else None), MENU_LST
        if entry is None:
            return Plan.check("blocking", "no entry", f"{where} has no entry pygrub could boot",
                              "set up the guest's boot menu (grub-mkconfig, or menu.lst by hand)", fail=True)
        value = f"'{entry.title}': {entry.kernel}"
        if not entry.kernel or not guestfacts.kernel_exists(host, entry.kernel):
            return Plan.check("blocking", value, f"{entry.note}pygrub shows no menu and boots '{entry.title}', whose "
                              f"kernel {entry.kernel} does not exist", "make the default entry one whose kernel "
                              "is installed (GRUB_DEFAULT, or default N in menu.lst)", fail=True)
        initrd = self.initrd_check(host, entry, value)
        if isinstance(initrd, Plan):
            return initrd
        console = "with console=hvc0" if CONSOLE in entry.args.split() else "console=hvc0 not there yet"
        return Plan.check("ok", value, f"{entry.note}pygrub shows no menu: it boots '{entry.title}' "
                                       f"({entry.kernel} exists; {console}{initrd})")


def console_steps(g: PvGuestParams, host: Host) -> list[Step]:
    """console=hvc0 for the boot configuration the guest uses (params.loader, or the detected one)."""
    loader = g.loader
    if loader == "auto":
        found = bootfacts.boot_loader(host)
        loader = found if found in ("grub2", "grub-legacy") else "direct"
    if loader == "grub2":
        return [GuestGrubCmdline(), GuestGrubConfig(), PygrubDefaultEntry("grub2")]
    if loader == "grub-legacy":
        return [GuestMenuLstEntry(), PygrubDefaultEntry("grub-legacy")]
    return [DirectBootCmdline()]

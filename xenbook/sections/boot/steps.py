"""The boot section for GRUB 2: a multiboot2 Xen entry, made the default, in a regenerated grub.cfg."""

from __future__ import annotations

from xenbook.core.actions import Plan
from xenbook.core.commands import Command
from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Regeneration, Step
from xenbook.edits import blocks, grubentry, shellvars
from xenbook.facts import boot as bootfacts
from xenbook.facts import cpu as cpufacts
from xenbook.facts import xen as xenfacts
from xenbook.sections.boot.cmdline import serial_console, with_hvc0, with_root_flags, xen_command_line
from xenbook.sections.boot.firstboot import GrubOneTimeBoot
from xenbook.sections.boot.params import BootParams

SECTION = "boot"
GRUB_DEFAULTS = "/etc/default/grub"
GRUB_CUSTOM = "/etc/grub.d/40_custom"
GRUB_CFG = "/boot/grub/grub.cfg"
XEN_IMAGE = "/boot/xen.gz"
EFI_UCODE_VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}  # /proc/cpuinfo vendor_id -> blob name



def grub_defaults(host: Host) -> dict[str, str]:
    """/etc/default/grub's values, as sh would read them."""
    return shellvars.get_vars(host.read_text(GRUB_DEFAULTS) or "")

class BootFacts:
    """What the GRUB 2 steps read, computed once per plan."""

    def __init__(self, params: BootParams, options_from: str = "grub-defaults", *, once: bool = False):
        self.params = params
        self.options_from = options_from  # where dom0's kernel options come from: grub-defaults or cmdline
        self.once = once  # boot.first_boot once: the entry boots once first (xenbook.sections.boot.firstboot)

    def default_now(self, host: Host) -> bool:
        """Whether the Xen entry is the default now: make_default, and with a one-time first boot only once the
        host runs Xen as dom0 (the verification after that boot)."""
        return self.params.make_default and (not self.once or host.fact(xenfacts.xen_state).dom0)

    def layout(self, host: Host) -> bootfacts.BootLayout:
        return host.fact(bootfacts.boot_layout)

    def microcode(self, host: Host) -> list[str]:
        return host.fact(bootfacts.microcode_images)

    def xen_args(self, host: Host) -> str:
        """Xen's options when a loader passes the initramfs and microcode as modules (ucode=scan finds it)."""
        return xen_command_line(self.params, microcode=bool(self.microcode(host)))

    def efi_microcode(self, host: Host) -> str | None:
        """The extracted microcode blob beside xen.efi for this host's CPU vendor (xen-efi-intel-ucode.bin or
        xen-efi-amd-ucode.bin, as the AUR package's xen-ucode-extract.sh names them), or None when there is none."""
        cpu = host.fact(cpufacts.cpu_info)
        vendor = EFI_UCODE_VENDORS.get(cpu.vendor_id if cpu else "")
        name = f"xen-efi-{vendor}-ucode.bin"
        return name if vendor and host.exists(f"/boot/{name}") else None

    def xen_args_efi(self, host: Host) -> str:
        """Xen's options for xen.cfg: the blob has its own ucode= key there; without one, ucode=scan finds the
        microcode the mkinitcpio microcode hook puts at the front of the initramfs (the only module)."""
        return xen_command_line(self.params, microcode=self.efi_microcode(host) is None)

    def kernel_args(self, host: Host) -> str:
        """dom0's options: root= and rw, rootflags=subvol= for a btrfs subvolume root (unless the options name a
        subvolume already), then the options from the parameter, /etc/default/grub or /proc/cmdline, and
        console=hvc0 last when Xen's console is a serial port (so dom0's messages and login share that line)."""
        if self.params.dom0_kernel_options is not None:
            extra = self.params.dom0_kernel_options
        elif self.options_from == "cmdline":
            extra = bootfacts.running_kernel_options(host)
        else:
            values = host.fact(grub_defaults)
            extra = " ".join(v for v in (values.get("GRUB_CMDLINE_LINUX", ""),
                                         values.get("GRUB_CMDLINE_LINUX_DEFAULT", "")) if v)
        layout = self.layout(host)
        args = f"{layout.root_arg} rw {with_root_flags(extra, layout.root_flags)}".strip()
        return with_hvc0(args) if serial_console(self.params) else args  # dom0's console on Xen is hvc0

    def entry(self, host: Host) -> str:
        layout, k = self.layout(host), self.params.kernel
        initrds = (layout.grub_path(f"initramfs-{k}.img"),) + tuple(layout.grub_path(m) for m in self.microcode(host))
        return grubentry.render_entry(grubentry.XenEntry(
            title=f"Arch Linux ({k}), with Xen hypervisor", boot_uuid=layout.boot.uuid,
            boot_fstype=layout.boot.fstype, xen=layout.grub_path("xen.gz"), xen_args=self.xen_args(host),
            kernel=layout.grub_path(f"vmlinuz-{k}"), kernel_args=self.kernel_args(host), initrds=initrds))


class XenImagePresent(Step):
    section = SECTION

    def plan(self, host: Host) -> Plan:
        if host.exists(XEN_IMAGE):
            return Plan.ok(f"{XEN_IMAGE} is installed")
        return Plan.fail(f"{XEN_IMAGE} is missing: Xen is not installed",
                         "run the install section (AUR package xen) first", missing=(XEN_IMAGE,))


class Dom0KernelReady(Step):
    section = SECTION

    def __init__(self, params: BootParams):
        self.kernel = params.kernel

    def plan(self, host: Host) -> Plan:
        k = self.kernel
        missing = [p for p in (f"/boot/vmlinuz-{k}", f"/boot/initramfs-{k}.img") if not host.exists(p)]
        if missing:
            return Plan.fail(f"{', '.join(missing)} missing", f"install the kernel: pacman -S {k}")
        capable = bootfacts.dom0_capable(host.fact(bootfacts.kernel_config))
        if capable is False:
            return Plan.fail("the running kernel was built without CONFIG_XEN_DOM0",
                             "boot Arch's stock linux or linux-lts kernel, which can be dom0")
        note = "" if capable else " (dom0 support not checked: /proc/config.gz is missing)"
        return Plan.ok(f"{k} kernel and initramfs present, kernel can be dom0{note}")


class GrubDefaults(FileStep):
    """/etc/default/grub ends with a xenbook block holding the Xen command line and the default entry."""

    section, path, validator = SECTION, GRUB_DEFAULTS, "shell"
    triggers = ("GrubConfig",)

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{GRUB_DEFAULTS} is missing: GRUB 2 is not installed",
                                     "install GRUB (pacman -S grub, then grub-install) or choose another loader")
        pairs = [("GRUB_CMDLINE_XEN_DEFAULT", self.facts.xen_args(host))]
        if self.facts.default_now(host):
            pairs.append(("GRUB_DEFAULT", grubentry.ENTRY_ID))
        elif self.facts.params.make_default and self.facts.once:  # grub-reboot needs it (its --help says so)
            pairs.append(("GRUB_DEFAULT", "saved"))
        body = "# Managed by xenbook: change the runbook's boot parameters, not these lines.\n"
        return blocks.ensure_block(old, "boot", body + shellvars.render_assignments(pairs))


class GrubXenEntry(FileStep):
    """/etc/grub.d/40_custom holds the Xen menu entry in a xenbook block and is executable."""

    section, path, validator = SECTION, GRUB_CUSTOM, "grub-custom"
    mode, enforce_mode = 0o755, True
    triggers = ("GrubConfig",)

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def render(self, host: Host, old: str | None) -> str:
        return blocks.ensure_block(grubentry.ensure_custom_header(old), "xen-entry", self.facts.entry(host))


class GrubCfgRegeneration(Regeneration):
    """grub.cfg regenerated by grub-mkconfig; verified by the subclass's stale(), then the runner's grub-script-check."""

    output, command, validator = GRUB_CFG, Command.of("grub-mkconfig", "-o", GRUB_CFG), "grub-script"
    hint = ""  # what to look at when grub.cfg is still stale after grub-mkconfig

    def verify(self, host: Host) -> str | None:
        problem = self.stale(host)
        return f"{problem} ({self.hint})" if problem else None


class GrubConfig(GrubCfgRegeneration):
    """grub.cfg is generated from the inputs above, holds the Xen entry, and starts it by default."""

    section = SECTION
    hint = "is /etc/grub.d/40_custom executable, and GRUB_DEFAULT not overridden later?"

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def stale(self, host: Host) -> str | None:
        text = host.read_text(GRUB_CFG)
        if text is None:
            return f"{GRUB_CFG} does not exist"
        if self.facts.entry(host) not in text:
            return f"{GRUB_CFG} lacks the current Xen entry"
        if self.facts.default_now(host) and grubentry.default_setting(text) != grubentry.ENTRY_ID:
            return f"{GRUB_CFG} does not start the Xen entry by default"
        return None


def grub2_steps(params: BootParams, *, once: bool = False) -> list[Step]:
    facts = BootFacts(params, once=once)
    steps = [XenImagePresent(), Dom0KernelReady(params), GrubDefaults(facts), GrubXenEntry(facts), GrubConfig(facts)]
    return steps + ([GrubOneTimeBoot(GRUB_DEFAULTS, GRUB_CUSTOM)] if once else [])

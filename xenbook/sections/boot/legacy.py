"""The boot section for GRUB legacy (menu.lst): an entry with kernel /xen.gz and module lines."""

from __future__ import annotations

from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host
from xenbook.core.step import FileStep, Step
from xenbook.edits import blocks, menulst
from xenbook.facts import boot as bootfacts
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import SECTION, BootFacts, Dom0KernelReady, XenImagePresent

MENU_LST = "/boot/grub/menu.lst"
ENTRY_BLOCK, DEFAULT_BLOCK = "xen-entry", "xen-default"


def legacy_drive(host: Host, facts: BootFacts, menu: str) -> str:
    """The (hdX,Y) holding /boot: what the existing entries use, else counted from lsblk."""
    roots = menulst.entry_roots(blocks.remove_block(menu, ENTRY_BLOCK))
    if roots:
        return roots[0]
    _disk, number, index = bootfacts.partition_of(host, facts.layout(host).boot.source)
    return f"(hd{index},{number - 1})"


class MenuLstXen(FileStep):
    """menu.lst ends with a xenbook Xen entry (kernel /xen.gz, dom0 and its initramfs as modules), booted by default."""

    section, path, validator = SECTION, MENU_LST, "menu-lst"

    def __init__(self, facts: BootFacts):
        self.facts = facts

    def render(self, host: Host, old: str | None) -> str:
        if old is None:
            raise PreconditionFailed(f"{MENU_LST} is missing: GRUB legacy is not installed here",
                                     "choose the boot loader the host really uses (parameter loader)")
        f, layout, k = self.facts, self.facts.layout(host), self.facts.params.kernel
        entry = menulst.LegacyEntry(
            title=f"Arch Linux ({k}), with Xen hypervisor", root=legacy_drive(host, f, old),
            xen=layout.grub_path("xen.gz"), xen_args=f.xen_args(host), kernel=layout.grub_path(f"vmlinuz-{k}"),
            kernel_args=f.kernel_args(host),
            modules=(layout.grub_path(f"initramfs-{k}.img"),) + tuple(layout.grub_path(m) for m in f.microcode(host)))
        text = blocks.ensure_block(old, ENTRY_BLOCK, menulst.render_entry(entry))
        if not f.params.make_default:
            return blocks.remove_block(text, DEFAULT_BLOCK)
        index = menulst.titles(text).index(entry.title)
        body = f"# Managed by xenbook: boot entry {index} ({entry.title}) by default.\ndefault {index}\n"
        return menulst.ensure_block_before_entries(text, DEFAULT_BLOCK, body)


def legacy_steps(params: BootParams) -> list[Step]:
    return [XenImagePresent(), Dom0KernelReady(params), MenuLstXen(BootFacts(params, options_from="cmdline"))]

"""Boot: a multiboot2 entry for Xen and dom0, for GRUB 2, GRUB legacy or UEFI."""

from xenbook.core.section import Section
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.paths import boot_steps
from xenbook.sections.boot.report import boot_parts

SECTION = Section("boot", 20, "Boot Xen: a multiboot2 entry for the hypervisor and dom0", "20-boot.ipynb", boot_steps,
                  "boot", BootParams, report=boot_parts)

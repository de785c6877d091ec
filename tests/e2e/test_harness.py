"""The e2e harness itself, without QEMU: the one rewrite of the entry, the stage and failure reading of a console,
and the initramfs archive format."""

from __future__ import annotations

import gzip

from tests.e2e import iso, qemu
from tests.e2e.cpio import Tree

ENTRY = """\
# BEGIN xenbook xen-entry
menuentry 'Arch Linux (linux), with Xen hypervisor' --id xenbook-xen {
\tinsmod multiboot2
\tsearch --no-floppy --fs-uuid --set=root 0f87edb0-6e3e-4dae-8609-5376e17d0957
\tmultiboot2\t/xen.gz placeholder dom0_mem=512M,max:512M console=com1
\tmodule2\t/vmlinuz-linux placeholder root=UUID=56c87129 rw console=hvc0
\tmodule2\t--nounzip /initramfs-linux.img
\tmodule2\t--nounzip /intel-ucode.img
}
# END xenbook xen-entry
"""


def test_only_the_search_line_is_rewritten():
    rewritten = iso.iso_entry(ENTRY)
    before, after = ENTRY.splitlines(), rewritten.splitlines()
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(before) == len(after) and changed == [
        ("\tsearch --no-floppy --fs-uuid --set=root 0f87edb0-6e3e-4dae-8609-5376e17d0957",
         f"\tsearch --no-floppy --file --set=root {iso.ROOT_FILE}")]


def test_loaded_paths_and_arguments():
    assert iso.loaded_paths(ENTRY) == [("multiboot2", "/xen.gz"), ("module2", "/vmlinuz-linux"),
                                       ("module2", "/initramfs-linux.img"), ("module2", "/intel-ucode.img")]
    assert iso.arguments(ENTRY, "multiboot2") == "placeholder dom0_mem=512M,max:512M console=com1"
    assert iso.arguments(ENTRY, "module2") == "placeholder root=UUID=56c87129 rw console=hvc0"


def test_xen_entry_is_cut_from_40_custom(tmp_path):
    custom = tmp_path / "40_custom"
    custom.write_text("#!/bin/sh\nexec tail -n +3 $0\n# mine\n" + ENTRY + "# after\n")
    assert iso.xen_entry(custom) == ENTRY


def test_stages_and_the_first_failure_are_read_from_the_console():
    console = ("XENBOOK-STAGE grub\n(XEN) Xen version 4.17.7 (Debian)\nXENBOOK-STAGE xen\nXENBOOK-STAGE dom0\n"
               "XENBOOK-FAIL xenstored: xenstored does not answer\n[ 9.1] Kernel panic - not syncing: later\n")
    assert qemu.stages_in(console) == ["grub", "hypervisor", "xen", "dom0"]
    assert qemu.failure_in(console) == "XENBOOK-FAIL xenstored: xenstored does not answer"
    result = qemu.Boot(console=console, stages=qemu.stages_in(console), failure=qemu.failure_in(console))
    assert result.last_stage == "dom0"
    assert result.explain().startswith("boot stopped after stage 'dom0'")
    assert "Kernel panic" in result.explain()  # the tail of the console comes with it
    grub = "XENBOOK-STAGE grub\nerror: file `/nope' not found.\n\nPress any key to continue..."
    assert qemu.failure_in(grub) == "error: file `/nope' not found."
    assert qemu.failure_in("XENBOOK-STAGE grub\n(XEN) Xen version 4.17\n") is None
    assert qemu.failure_in("(XEN) Xen version 4.17\nerror: from some program in dom0\n") is None


def test_initramfs_is_a_newc_archive_with_merged_usr(tmp_path):
    tree = Tree()
    tree.data("init", "#!/bin/sh\n", 0o755)
    tree.link("bin/sh", "/bin/busybox")
    tree.chardev("dev/console", 5, 1)
    raw = gzip.decompress(tree.cpio())
    assert raw.startswith(b"070701") and raw.rstrip(b"\0").endswith(b"TRAILER!!!")
    names = [chunk.split(b"\0", 1)[0][104:] for chunk in raw.split(b"070701")[1:]]
    assert {b"init", b"usr/bin/sh", b"dev/console", b"bin", b"lib"} <= set(names)

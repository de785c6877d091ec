"""The e2e harness itself, without QEMU: the one rewrite of the entry, the stage and failure reading of a console,
and the initramfs archive format."""

from __future__ import annotations

import gzip

import pytest

from tests.e2e import esp, iso, network, qemu, recordings
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


def test_uefi_stages_and_xen_efis_own_failures_are_read_from_the_console():
    console = ('BdsDxe: starting Boot0003 "Arch Linux with Xen (xenbook)" from HD(1,GPT,...)/\\xen.efi\r\n'
               "Xen 4.17.7 (c/s ) EFI loader\r\nUsing configuration file 'xen.cfg'\r\n"
               "Open failed for vmlinuz-missing: Not found\r\n")
    assert qemu.stages_in(console) == ["firmware", "xen-efi"]
    assert qemu.failure_in(console) == "Open failed for vmlinuz-missing: Not found"
    menu = "    Arch Linux (linux), with Xen hypervisor     Boot in 1 s.   Xen 4.17.7 (c/s ) EFI loader\r\n"
    assert qemu.stages_in(menu) == ["xen-efi"]  # systemd-boot's menu leaves no newline before it
    assert qemu.failure_in("Xen 4.17.7 (c/s ) EFI loader\nNo initial domain kernel specified.\n") == \
        "No initial domain kernel specified."


XEN_CFG = """\
# BEGIN xenbook xen-cfg
[global]
default=xenbook

[xenbook]
options=dom0_mem=512M,max:512M console=com1
kernel=vmlinuz-linux root=UUID=8d2f rw console=hvc0
kernel=ignored-second
ramdisk=initramfs-linux.img
# END xenbook xen-cfg
"""


def test_xen_cfg_is_read_as_xen_efi_reads_it(tmp_path):
    section = esp.xen_cfg_section(XEN_CFG)
    assert section == {"options": "dom0_mem=512M,max:512M console=com1", "ramdisk": "initramfs-linux.img",
                       "kernel": "vmlinuz-linux root=UUID=8d2f rw console=hvc0"}  # the first kernel= wins
    assert esp.xen_cfg_section(XEN_CFG.replace("[xenbook]", "[other]")) == {}
    files = esp.uefi_files(tmp_path, XEN_CFG, {"kernel": tmp_path / "k", "ramdisk": tmp_path / "r",
                                               "ucode": tmp_path / "u"}, systemd_boot=False)
    assert files == {"xen.efi": esp.XEN_EFI, "vmlinuz-linux": tmp_path / "k", "initramfs-linux.img": tmp_path / "r"}


def test_the_bridge_is_made_from_xenbooks_networkd_files(tmp_path):
    (tmp_path / "00-xenbook-xenbr0.netdev").write_text(
        "# Managed by xenbook\n[NetDev]\nName=xenbr0\nKind=bridge\nMACAddress=3c:ec:ef:6a:41:0e\n")
    (tmp_path / "00-xenbook-xenbr0.network").write_text("[Match]\nName=xenbr0\n\n[Network]\nDHCP=yes\n")
    (tmp_path / "00-xenbook-xenbr0-enp1s0.network").write_text("[Match]\nName=enp1s0\n\n[Network]\nBridge=xenbr0\n")
    (tmp_path / "00-xenbook-guest-interfaces.network").write_text("[Match]\nName=vif* tap*\n\n[Link]\nUnmanaged=yes\n")
    (tmp_path / "20-wired.network").write_text("[Match]\nName=enp1s0\n\n[Network]\nDHCP=yes\n")  # not xenbook's
    lines = network.script(tmp_path).splitlines()
    commands = [ln for ln in lines if ln.startswith(("ip ", "if "))]
    assert commands[:2] == ["ip link add name xenbr0 type bridge", "ip link set dev xenbr0 address 3c:ec:ef:6a:41:0e"]
    assert commands[2].startswith("if [ -e /sys/class/net/enp1s0 ]; then ip link set dev enp1s0 master xenbr0;")
    assert commands[3:] == [f"ip address add {network.DOM0_ADDRESS} dev xenbr0", "ip link set dev xenbr0 up"]
    assert lines[0] == "set -e" and "20-wired" not in "\n".join(lines)
    (tmp_path / "00-xenbook-xenbr0.netdev").write_text("[NetDev]\nName=xenbr0\nKind=bond\n")
    with pytest.raises(ValueError, match="Kind=bond is not a bridge"):
        network.script(tmp_path)
    (tmp_path / "00-xenbook-xenbr0.netdev").unlink()
    with pytest.raises(ValueError, match="no xenbook .netdev in"):
        network.script(tmp_path)


def test_a_recorded_failure_is_cut_from_the_console():
    console = "x\nXENBOOK-RECORD-BEGIN oom: xl create /tmp/big.cfg\r\nlibxl: error: Out of memory\r\n" \
              "XENBOOK-RECORD-END oom rc=1\r\nXENBOOK-RECORD-BEGIN next: true\n"
    text = recordings.clean(recordings.between(console, "oom"))
    assert text == ("XENBOOK-RECORD-BEGIN oom: xl create /tmp/big.cfg\nlibxl: error: Out of memory\n"
                    "XENBOOK-RECORD-END oom rc=1\n")

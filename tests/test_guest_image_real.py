"""The guest files xenbook writes, checked with the REAL tools: an ext4 image made from them with mkfs.ext4 -d (no
loop device, no root), read back with debugfs, checked by e2fsck, probed by blkid; the guest fstab passes the fstab
validator (findmnt --verify) once blkid knows the image, and a wrong filesystem type in it does not."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from xenbook.core.errors import ValidationFailed
from xenbook.safety.validators import validate_bytes
from xenbook.connectors.fake import FakeHost
from xenbook.sections.domu.identity import identified
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.steps import guest_files

TOOLS = ("mkfs.ext4", "e2fsck", "debugfs", "blkid", "findmnt")
MISSING = [t for t in TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs e2fsprogs and util-linux ({', '.join(MISSING)} "
                                                          "not installed)")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl xenbook-test"


def tool(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    """(params, files, image): the guest's files under a folder, made into an ext4 image of that folder."""
    g = identified(GuestParams(name="dom01", ssh_key=KEY), FakeHost({"/etc/machine-id": "5" * 32 + "\n"},
                                                                      absent=["blkid"]))
    files = guest_files(g, "")
    tree = tmp_path_factory.mktemp("guest") / "root"
    for path, (data, mode) in files.items():
        local = tree / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        os.chmod(local, mode)
    os.chmod(tree / "root", 0o700)
    os.chmod(tree / "root/.ssh", 0o700)
    image = tree.parent / "dom01.img"
    made = tool("mkfs.ext4", "-q", "-F", "-d", str(tree), "-L", g.name, "-U", g.disk_uuid, str(image), "64M")
    assert made.returncode == 0, made.stderr
    return g, files, image


def test_the_image_is_a_clean_ext4_filesystem(guest):
    g, _, image = guest
    fsck = tool("e2fsck", "-fn", str(image))
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    probe = tool("blkid", "-p", "-o", "export", str(image))
    tags = dict(line.split("=", 1) for line in probe.stdout.splitlines())
    assert (tags["TYPE"], tags["UUID"], tags["LABEL"]) == ("ext4", g.disk_uuid, g.name)


def test_debugfs_reads_back_what_xenbook_wrote(guest):
    g, files, image = guest
    dropin = next(p for p in files if p.startswith("/etc/mkinitcpio.conf.d/") and p.endswith(".conf"))
    network = next(p for p in files if p.startswith("/etc/systemd/network/") and p.endswith(".network"))
    for path in ("/etc/fstab", "/etc/hostname", dropin, network):
        cat = tool("debugfs", "-R", f"cat {path}", str(image))
        assert cat.returncode == 0 and cat.stdout.encode() == files[path][0], path
    assert f"UUID={g.disk_uuid}\t/\text4" in files["/etc/fstab"][0].decode()
    assert files["/etc/hostname"][0] == b"dom01\n"
    assert re.search(r"(?m)^MODULES\+=\(.*\bxen-blkfront\b.*\bxen-netfront\b.*\)$", files[dropin][0].decode())
    assert "[Match]" in files[network][0].decode() and "DHCP=yes" in files[network][0].decode()
    keys = tool("debugfs", "-R", "stat /root/.ssh/authorized_keys", str(image)).stdout
    assert re.search(r"Mode:\s+0600\b", keys), keys
    assert tool("debugfs", "-R", "cat /root/.ssh/authorized_keys", str(image)).stdout == KEY + "\n"


def test_the_guest_fstab_passes_findmnt_verify(guest, tmp_path, monkeypatch):
    g, files, image = guest
    cache = tmp_path / "blkid.tab"  # a private blkid cache: findmnt resolves the guest's UUID to the image
    assert tool("blkid", "-c", str(cache), str(image)).returncode == 0
    monkeypatch.setenv("BLKID_FILE", str(cache))
    fstab = files["/etc/fstab"][0]
    assert validate_bytes("fstab", fstab, "guest fstab") == ["findmnt --verify --tab-file"]
    with pytest.raises(ValidationFailed) as wrong:
        validate_bytes("fstab", fstab.replace(b"\text4\t", b"\txfs\t"), "guest fstab")
    assert "does not match with on-disk ext4" in str(wrong.value)


def test_guest_kernel_current_reads_the_real_debugfs_and_stat(tmp_path):
    """GuestKernelCurrent's readers on the real debugfs and stat: the guest's /boot inode, then dump -p's copy
    (whole-second mtime, the inode's mode) reads the same, and a missing file and a non-ext4 disk read as such."""
    from xenbook.connectors.rooted import LocalHost
    from xenbook.sections.domu.kernel import copy_files, debugfs, guest_file

    root, boot = tmp_path / "root", tmp_path / "boot"
    (root / "boot").mkdir(parents=True)
    boot.mkdir()
    kernel = root / "boot/vmlinuz-linux"
    kernel.write_bytes(os.urandom(300000))
    os.utime(kernel, (1763633472, 1763633472))
    g = GuestParams(name="dom01", storage="image", image_dir=str(tmp_path))
    image = tmp_path / "dom01.img"
    assert tool("mkfs.ext4", "-q", "-F", "-d", str(root), str(image), "64M").returncode == 0
    host = LocalHost()
    assert guest_file(host, g, "vmlinuz-linux") == (300000, 1763633472)
    assert guest_file(host, g, "initramfs-linux.img") is None
    assert host.run(debugfs(g, f"dump -p /boot/vmlinuz-linux {boot}/vmlinuz-linux")).ok
    assert copy_files(host, [f"{boot}/vmlinuz-linux", f"{boot}/nosuch"]) == {f"{boot}/vmlinuz-linux": (300000,
                                                                                                       1763633472)}
    assert (boot / "vmlinuz-linux").read_bytes() == kernel.read_bytes()
    image.write_bytes(b"\0" * 1024 * 1024)
    with pytest.raises(Exception, match="Bad magic number"):
        guest_file(host, g, "vmlinuz-linux")

"""The sample host's SIMULATED storage and guest bootstrap programs: the argv forms the domU steps run, the real
tools' output formats, state that survives reopening, mounts seen by findmnt and lsblk, and the guard's inputs."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.test_sample_findmnt import assert_findmnt_agrees
from xenbook.core.commands import Command
from xenbook.safety.guard import GuardRefused, check, device_facts
from xenbook_sample import SampleHost, init_sample
from xenbook_sample.bootstrap import ChrootView

MNT = "/var/lib/xenbook/mnt/dom01"
UUID = "6b0d6c4e-8f1a-4c3b-9d2e-1a2b3c4d5e6f"
IMAGE = "/var/lib/xen/images/dom01.img"
EXTENT = 4 * 1024 ** 2


@pytest.fixture
def host(tmp_path):
    return init_sample(str(tmp_path / "sample"))


def run(host, *argv, stdin=None):
    return host.run(Command.of(*argv, stdin=stdin))


def ok(host, *argv, stdin=None):
    result = run(host, *argv, stdin=stdin)
    assert result.ok, f"{argv}: {result.returncode} {result.stdout}{result.stderr}"
    return result


def lvs_json(host, *sel):
    return run(host, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
               "lv_name,vg_name,lv_size,lv_path,lv_dm_path", *sel)


def guest_volume(host, name="dom01", size="20G", uuid=UUID):
    """An LV with a fresh ext4 filesystem, mounted at MNT, as the domU steps leave it."""
    ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", size, "-n", name, "vg0")
    ok(host, "mkfs.ext4", "-q", "-F", "-L", name, "-U", uuid, f"/dev/vg0/{name}")
    ok(host, "mkdir", "-p", "-m", "0700", MNT)
    ok(host, "mount", f"/dev/vg0/{name}", MNT)


def facts(host, device):
    tree = json.loads(ok(host, "lsblk", "-J", "-p", "-o", "NAME,TYPE,FSTYPE,PTTYPE,PARTTYPE,MOUNTPOINTS").stdout)
    return device_facts(device, tree, run(host, "blkid", "-p", "-o", "export", device).stdout,
                        host.read_text("/proc/swaps"))


# the second disk: one LVM physical volume of vg0

def test_sdb_is_a_physical_volume_of_vg0_with_an_unmounted_data_volume(host):
    tree = json.loads(ok(host, "lsblk", "-J", "-p", "-o", "NAME,MAJ:MIN,TYPE,FSTYPE,PTTYPE,MOUNTPOINTS").stdout)
    sdb = tree["blockdevices"][1]
    assert (sdb["name"], sdb["maj:min"], sdb["fstype"], sdb["pttype"]) == ("/dev/sdb", "8:16", "LVM2_member", None)
    assert sdb["children"] == [{"name": "/dev/mapper/vg0-data", "maj:min": "254:0", "type": "lvm", "fstype": "ext4",
                                "pttype": None, "mountpoints": [None]}]
    assert ok(host, "blkid", "-p", "-o", "export", "/dev/sdb").stdout.splitlines() == [
        "DEVNAME=/dev/sdb", "UUID=Jd4Kp2-Ha7q-Wx3e-Zr8t-Mn5b-Cv1y-Ls6uQo", "VERSION=LVM2 001", "TYPE=LVM2_member",
        "USAGE=raid"]
    data = ok(host, "blkid", "-p", "-o", "export", "/dev/vg0/data").stdout.splitlines()
    assert data[0] == "DEVNAME=/dev/mapper/vg0-data" and "TYPE=ext4" in data and "LABEL=data" in data
    assert [host.exists(p) for p in ("/dev/sdb", "/dev/vg0/data", "/dev/mapper/vg0-data", "/dev/dm-0")] == [True] * 4
    assert host.read_text("/proc/swaps").startswith("Filename\t\t\t\tType")
    kname = json.loads(ok(host, "lsblk", "-J", "-o", "NAME,KNAME,PKNAME", "/dev/vg0/data").stdout)["blockdevices"]
    assert kname == [{"name": "vg0-data", "kname": "dm-0", "pkname": "sdb"}]


def test_blkid_probe_prints_the_partition_entry(host):
    lines = ok(host, "blkid", "-p", "-o", "export", "/dev/sda2").stdout.splitlines()
    assert lines[:7] == ["DEVNAME=/dev/sda2", "UUID=0f87edb0-6e3e-4dae-8609-5376e17d0957", "VERSION=1.0",
                         "BLOCK_SIZE=4096", "TYPE=ext4", "USAGE=filesystem", "PART_ENTRY_SCHEME=gpt"]
    assert "PART_ENTRY_NUMBER=2" in lines and "PART_ENTRY_OFFSET=4096" in lines and "PART_ENTRY_DISK=8:0" in lines
    assert ok(host, "blkid", "-p", "-o", "export", "/dev/sda").stdout.splitlines()[2] == "PTTYPE=gpt"


def test_profiles_without_lvm_have_no_volume_groups(tmp_path):
    uefi = init_sample(str(tmp_path / "u"), profile="uefi-systemd-boot")
    out = ok(uefi, "vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_name").stdout
    assert json.loads(out) == {"report": [{"vg": []}]}
    assert run(uefi, "lsblk", "/dev/sdb").returncode == 32


# vgs, lvs, lvcreate

def test_vgs_and_lvs_print_lvm_json(host):
    out = ok(host, "vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_name,vg_size,vg_free",
             "vg0").stdout
    assert out == ('  {\n      "report": [\n          {\n              "vg": [\n                  {"vg_name":"vg0", '
                   '"vg_size":"549751619584", "vg_free":"429496729600"}\n              ]\n          }\n      ]\n  }\n')
    lvs = json.loads(ok(host, "lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                        "lv_name,vg_name,lv_size,lv_path,lv_dm_path", "vg0").stdout)
    assert lvs == {"report": [{"lv": [{"lv_name": "data", "vg_name": "vg0", "lv_size": str(28671 * EXTENT),
                                       "lv_path": "/dev/vg0/data", "lv_dm_path": "/dev/mapper/vg0-data"}]}]}
    assert ok(host, "vgs").stdout.splitlines()[1].split() == ["vg0", "1", "1", "0", "wz--n-", "<512.00g", "400.00g"]


def test_lvm_reports_unknown_groups_and_volumes_like_lvm(host):
    for prog, sel in (("vgs", "nosuch"), ("lvs", "nosuch"), ("lvs", "nosuch/x")):
        result = run(host, prog, "--reportformat", "json", "-o", f"{prog[0]}{'g' if prog == 'vgs' else 'v'}_name",
                     sel)
        assert result.returncode == 5 and json.loads(result.stdout)["report"][0] in ({"vg": []}, {"lv": []})
        assert result.stderr == '  Volume group "nosuch" not found\n  Cannot process volume group nosuch\n'
    missing = lvs_json(host, "vg0/dom01")
    assert missing.returncode == 5 and missing.stderr == '  Failed to find logical volume "vg0/dom01"\n'
    assert json.loads(missing.stdout) == {"report": [{"lv": []}]}


def test_lvcreate_makes_a_volume_that_survives_reopening(host):
    created = ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "20G", "-n", "dom01", "vg0")
    assert created.stdout == '  Logical volume "dom01" created.\n'
    again = SampleHost.open(host.root)
    lv = json.loads(lvs_json(again, "vg0/dom01").stdout)["report"][0]["lv"]
    assert lv == [{"lv_name": "dom01", "vg_name": "vg0", "lv_size": str(20 * 1024 ** 3), "lv_path": "/dev/vg0/dom01",
                   "lv_dm_path": "/dev/mapper/vg0-dom01"}]
    vg = json.loads(ok(again, "vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", "vg_free").stdout)
    assert vg["report"][0]["vg"] == [{"vg_free": str(380 * 1024 ** 3)}]
    assert again.exists("/dev/vg0/dom01") and os.readlink(again.real("/dev/mapper") + "/vg0-dom01") == "../dm-1"
    assert "vg0-dom01" in ok(again, "lsblk", "-l", "-o", "NAME").stdout.split()
    assert run(again, "blkid", "-p", "-o", "export", "/dev/vg0/dom01").returncode == 2  # empty: no signature
    rounded = ok(again, "lvcreate", "-y", "-L", "10M", "-n", "small", "vg0").stdout
    assert rounded.startswith("  Rounding up size to full physical extent 12.00 MiB\n")


def test_lvcreate_failures_are_lvms(host):
    ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "20G", "-n", "dom01", "vg0")
    exists = run(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "20G", "-n", "dom01", "vg0")
    assert (exists.returncode, exists.stderr) == (5, '  Logical Volume "dom01" already exists in volume group "vg0"\n')
    full = run(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "381G", "-n", "big", "vg0")
    assert (full.returncode, full.stderr) == (5, '  Volume group "vg0" has insufficient free space (97280 extents): '
                                                 '97536 required.\n')
    assert run(host, "lvcreate", "-y", "-L", "1G", "-n", "x", "nosuch").returncode == 5
    assert run(host, "lvcreate", "-y", "-L", "1X", "-n", "x", "vg0").returncode == 3


# the destructive guard's inputs

def test_guard_refuses_the_data_volume_and_the_pv_and_accepts_a_fresh_volume(host):
    data = facts(host, "/dev/mapper/vg0-data")
    with pytest.raises(GuardRefused) as refused:
        check(data)
    assert "[has-filesystem]" in str(refused.value) and "ext4" in str(refused.value)
    assert {r.rule for r in pytest.raises(GuardRefused, check, facts(host, "/dev/sdb")).value.refusals} == {"lvm-pv"}
    root = pytest.raises(GuardRefused, check, facts(host, "/dev/sda3"), force=True, confirm="/dev/sda3").value
    assert {"backs-root", "has-filesystem"} <= {r.rule for r in root.refusals}
    ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "20G", "-n", "dom01", "vg0")
    assert check(facts(host, "/dev/mapper/vg0-dom01")) == []
    guest_volume(host, "dom02", "1G", "0d7c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f")
    mounted = pytest.raises(GuardRefused, check, facts(host, "/dev/mapper/vg0-dom02"), force=True,
                            confirm="/dev/mapper/vg0-dom02").value
    assert {r.rule for r in mounted.refusals} == {"mounted", "has-filesystem"}


# mkfs.ext4, truncate, qemu-img

def test_mkfs_records_the_filesystem_blkid_then_shows(host):
    ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "20G", "-n", "dom01", "vg0")
    made = ok(host, "mkfs.ext4", "-q", "-F", "-L", "dom01root", "-U", UUID, "/dev/vg0/dom01")
    assert made.stdout == made.stderr == ""
    assert ok(host, "blkid", "-p", "-o", "export", "/dev/vg0/dom01").stdout.splitlines() == [
        "DEVNAME=/dev/mapper/vg0-dom01", "LABEL=dom01root", f"UUID={UUID}", "VERSION=1.0", "BLOCK_SIZE=4096",
        "TYPE=ext4", "USAGE=filesystem"]
    assert ok(host, "blkid", "-s", "UUID", "-o", "value", "/dev/vg0/dom01").stdout == UUID + "\n"
    asks = run(host, "mkfs.ext4", "-q", "-U", UUID, "/dev/vg0/dom01")
    assert asks.returncode == 1 and "contains a ext4 file system labelled 'dom01root'" in asks.stdout
    bad = run(host, "mkfs.ext4", "-q", "-F", "-U", "bad", "/dev/vg0/dom01")
    assert (bad.returncode, bad.stderr) == (1, "/dev/vg0/dom01: could not parse UUID: bad\n\n")
    long = ok(host, "mkfs.ext4", "-q", "-F", "-L", "a-label-longer-than-16", "/dev/vg0/dom01")
    assert "truncated to 'a-label-longer-t'" in long.stderr
    missing = run(host, "mkfs.ext4", "-q", "-F", "/dev/vg0/nosuch")
    assert missing.stderr == "The file /dev/vg0/nosuch does not exist and no size was specified.\n"
    verbose = ok(host, "mkfs.ext4", "-F", "-U", UUID, "/dev/vg0/dom01").stdout
    assert f"Filesystem UUID: {UUID}\n" in verbose and "5242880 4k blocks" in verbose
    assert run(host, "mkfs.ext4", "-q", "-F", "/dev/sdb").stderr.startswith("/dev/sdb is apparently in use")
    assert run(host, "mkfs.ext4", "-q", "-F", "/dev/sda3").stderr == \
        "/dev/sda3 is mounted; will not make a filesystem here!\n"


def test_image_files_are_sparse_and_carry_their_size(host):
    ok(host, "mkdir", "-p", "/var/lib/xen/images")
    ok(host, "truncate", "-s", "20G", IMAGE)
    local = os.stat(host.real(IMAGE))
    assert (local.st_size, local.st_blocks) == (20 * 1024 ** 3, 0)  # all holes
    assert host.load_state()["volumes"][IMAGE] == {"format": "raw", "size": 20 * 1024 ** 3}
    ok(host, "mkfs.ext4", "-q", "-F", "-L", "dom01", "-U", UUID, IMAGE)
    assert os.stat(host.real(IMAGE)).st_blocks * 512 < 16 * 1024 ** 2  # the journal and tables stay holes
    info = json.loads(ok(host, "qemu-img", "info", "--output=json", IMAGE).stdout)
    assert (info["virtual-size"], info["format"], info["children"][0]["info"]["format"]) == (20 * 1024 ** 3, "raw",
                                                                                              "file")
    ok(host, "qemu-img", "convert", "-O", "qcow2", IMAGE, "/var/lib/xen/images/dom01.qcow2")
    qcow = json.loads(ok(host, "qemu-img", "info", "--output=json", "/var/lib/xen/images/dom01.qcow2").stdout)
    assert qcow["format"] == "qcow2" and qcow["format-specific"]["data"]["compat"] == "1.1"
    assert run(host, "blkid", "-p", "-o", "export", "/var/lib/xen/images/dom01.qcow2").returncode == 2
    ok(host, "qemu-img", "convert", "-O", "raw", IMAGE, "/var/lib/xen/images/copy.img")
    assert f"UUID={UUID}" in ok(host, "blkid", "-p", "-o", "export", "/var/lib/xen/images/copy.img").stdout
    assert run(host, "truncate", "-s", "1G", "/no/such/dir/x.img").stderr == \
        "truncate: cannot open '/no/such/dir/x.img' for writing: No such file or directory\n"
    assert run(host, "qemu-img", "info", "--output=json", "/nosuch.img").returncode == 1
    ok(host, "truncate", "-s", "0", "/etc/hostname")  # small sizes truncate real files
    assert host.read_text("/etc/hostname") == ""


# mount, umount, mountpoint

def test_mount_shows_in_findmnt_lsblk_and_survives_umount(host):
    host.makedirs(MNT)
    host.write_atomic(f"{MNT}/covered.txt", b"under the mount point\n")
    guest_volume(host)
    row = json.loads(ok(host, "findmnt", "-J", "-o", "SOURCE,TARGET,FSTYPE,UUID,OPTIONS", MNT).stdout)
    assert row["filesystems"] == [{"source": "/dev/mapper/vg0-dom01", "target": MNT, "fstype": "ext4", "uuid": UUID,
                                   "options": "rw,relatime"}]
    assert_findmnt_agrees(host)  # the simulation and the real findmnt over the sample's mountinfo
    assert ok(host, "lsblk", "-n", "-o", "MOUNTPOINTS", "/dev/vg0/dom01").stdout.strip() == MNT
    assert ok(host, "mountpoint", "-q", MNT).stdout == ""
    assert host.listdir(MNT) == ["lost+found"] and not host.exists(f"{MNT}/covered.txt")
    host.makedirs(f"{MNT}/etc")
    host.write_atomic(f"{MNT}/etc/hostname", b"dom01\n")
    twice = run(host, "mount", "/dev/vg0/dom01", MNT)
    assert (twice.returncode, twice.stderr) == (1, f"mount: {MNT}: /dev/mapper/vg0-dom01 is already mounted.\n")
    assert "-wi-ao----" in ok(host, "lvs", "-o", "lv_attr", "vg0/dom01").stdout
    ok(host, "umount", "-R", MNT)
    assert run(host, "mountpoint", "-q", MNT).returncode == 32
    assert host.read_text(f"{MNT}/covered.txt") == "under the mount point\n"
    assert run(host, "findmnt", MNT).returncode == 1 and json.loads(ok(
        host, "lsblk", "-J", "-o", "MOUNTPOINTS", "/dev/vg0/dom01").stdout)["blockdevices"][0]["mountpoints"] == [None]
    assert_findmnt_agrees(host)
    ok(host, "mount", "/dev/mapper/vg0-dom01", MNT)
    assert SampleHost.open(host.root).read_text(f"{MNT}/etc/hostname") == "dom01\n"


def test_failed_mounts_and_umounts_leave_the_table_findmnt_reads_as_it_was(host):
    """The messages are util-linux's (mount and umount need root, so no real tool checks them here); the table
    they leave is checked against the real findmnt."""
    ok(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "1G", "-n", "empty", "vg0")
    host.makedirs(MNT)
    before = host.read_text("/proc/self/mountinfo")
    nodir = run(host, "mount", "/dev/vg0/empty", "/nosuch")
    assert (nodir.returncode, nodir.stderr.splitlines()[0]) == (32, "mount: /nosuch: mount point does not exist.")
    assert "dmesg(1) may have more information" in nodir.stderr
    nofs = run(host, "mount", "/dev/vg0/empty", MNT)
    assert nofs.returncode == 32 and "wrong fs type, bad option, bad superblock on /dev/mapper/vg0-empty" in nofs.stderr
    nodev = run(host, "mount", "/dev/vg0/nosuch", MNT)
    assert nodev.stderr.startswith(f"mount: {MNT}: special device /dev/vg0/nosuch does not exist.")
    assert run(host, "umount", MNT).stderr == f"umount: {MNT}: not mounted.\n"
    assert run(host, "umount", "/nosuch").stderr == "umount: /nosuch: no mount point specified.\n"
    assert run(host, "mountpoint", "/nosuch").stderr == "mountpoint: /nosuch: No such file or directory\n"
    assert ok(host, "mountpoint", "/boot").stdout == "/boot is a mountpoint\n"
    assert run(host, "umount", "/boot").returncode == 32  # the simulated machine keeps its own mounts
    assert host.read_text("/proc/self/mountinfo") == before
    assert_findmnt_agrees(host)


def test_nested_mounts_need_umount_recursive(host):
    guest_volume(host)
    ok(host, "lvcreate", "-y", "-L", "1G", "-n", "dom01boot", "vg0")
    ok(host, "mkfs.ext4", "-q", "-F", "-U", "0d7c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f", "/dev/vg0/dom01boot")
    ok(host, "mkdir", f"{MNT}/boot")
    ok(host, "mount", "/dev/vg0/dom01boot", f"{MNT}/boot")
    host.write_atomic(f"{MNT}/boot/vmlinuz-linux", b"kernel\n")
    assert ChrootView(host, MNT).read_text("/boot/vmlinuz-linux") == "kernel\n"  # the chroot sees nested mounts
    busy = run(host, "umount", MNT)
    assert (busy.returncode, busy.stderr) == (32, f"umount: {MNT}: target is busy.\n")
    fstab = ok(host, "genfstab", "-U", MNT).stdout
    assert fstab == (f"# /dev/mapper/vg0-dom01 LABEL=dom01\nUUID={UUID}\t/         \text4      \trw,relatime\t0 1\n\n"
                     "# /dev/mapper/vg0-dom01boot\nUUID=0d7c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f\t/boot     \text4      "
                     "\trw,relatime\t0 2\n\n")
    assert_findmnt_agrees(host)  # a mount on a mount: the real findmnt's tree from the parent IDs
    ok(host, "umount", "-R", MNT)
    assert [m["target"] for m in host.load_state()["mounts"] if m["target"].startswith(MNT)] == []
    ok(host, "mount", "/dev/vg0/dom01boot", MNT)
    assert host.read_text(f"{MNT}/vmlinuz-linux") == "kernel\n"


def test_loop_mount_of_an_image_file(host):
    image = "/var/lib/xen/images/dom01.img"
    ok(host, "mkdir", "-p", "/var/lib/xen/images", MNT)
    ok(host, "truncate", "-s", "8G", image)
    ok(host, "mkfs.ext4", "-q", "-F", "-U", UUID, image)
    ok(host, "mount", "-o", "loop", image, MNT)
    assert ok(host, "findmnt", "-n", "-o", "SOURCE,UUID", MNT).stdout.split() == ["/dev/loop0", UUID]
    assert_findmnt_agrees(host)
    loop = json.loads(ok(host, "lsblk", "-J", "-b", "-o", "NAME,TYPE,SIZE,MOUNTPOINTS").stdout)["blockdevices"][0]
    assert loop == {"name": "loop0", "type": "loop", "size": 8 * 1024 ** 3, "mountpoints": [MNT]}
    assert ok(host, "genfstab", "-U", MNT).stdout.startswith(f"# /dev/loop0\nUUID={UUID}\t/")
    ok(host, "umount", MNT)
    assert host.load_state()["loops"] == [] and not host.exists("/dev/loop0")


# pacstrap, arch-chroot, mkinitcpio, chpasswd

def test_pacstrap_writes_a_minimal_arch_tree(host):
    guest_volume(host)
    out = ok(host, "pacstrap", "-K", MNT, "base", "linux", "openssh").stdout
    assert out.startswith(f"==> Creating install root at {MNT}\n") and f"==> Installing packages to {MNT}\n" in out
    assert "==> Building image from preset: /etc/mkinitcpio.d/linux.preset: 'default'\n" in out
    assert out.splitlines()[-1].startswith("[simulated]")
    g = f"{MNT}"
    assert host.read_bytes(f"{g}/etc/arch-release") == b"" and "ID=arch" in host.read_text(f"{g}/etc/os-release")
    assert host.read_text(f"{g}/etc/fstab").endswith("# <file system> <dir> <type> <options> <dump> <pass>\n")
    assert not host.exists(f"{g}/etc/hostname") and host.exists(f"{g}/etc/pacman.d/gnupg")
    assert host.read_bytes(f"{g}/etc/mkinitcpio.conf") == host.read_bytes("/etc/mkinitcpio.conf")
    assert host.stat(f"{g}/etc/mkinitcpio.conf.d").kind == "dir"
    assert "6.17.9-arch1-1" in host.read_text(f"{g}/boot/vmlinuz-linux")
    assert host.read_text(f"{g}/etc/shadow").startswith("root:*:") and host.stat(f"{g}/etc/shadow").mode == 0o600
    assert host.stat(f"{g}/root").mode == 0o700 and host.stat(f"{g}/tmp").mode == 0o1777
    for unit, wanted in (("serial-getty@.service", "WantedBy=getty.target"), ("sshd.service", "WantedBy=multi-user"),
                         ("systemd-networkd.service", "Also=systemd-networkd.socket"),
                         ("systemd-resolved.service", "WantedBy=sysinit.target")):
        text = host.read_text(f"{g}/usr/lib/systemd/system/{unit}")
        assert "[Install]" in text and wanted in text
    local = host.listdir(f"{g}/var/lib/pacman/local")
    assert {"base-3-2", "linux-6.17.9.arch1-1", "openssh-10.2p1-2", "systemd-258.2-1"} <= set(local)
    assert "%REASON%\n1" in host.read_text(f"{g}/var/lib/pacman/local/systemd-258.2-1/desc")
    assert "xen-blkfront" not in host.read_text(f"{g}/boot/initramfs-linux.img")
    assert host.stat(f"{g}/boot/initramfs-linux.img").mode == 0o600
    assert not host.exists("/.xenbook-sample/volumes") or not host.exists(f"{g}/.xenbook-sample")
    assert run(host, "pacstrap", "-K", "/nosuch", "base").stderr == "==> ERROR: /nosuch: not a directory\n"


def test_pacstrap_fails_offline(host):
    guest_volume(host)
    state = host.load_state()
    state["faults"] = {"offline": True}
    host.save_state(state)
    result = run(host, "pacstrap", "-K", MNT, "base")
    assert result.returncode == 1 and result.stderr.endswith("==> ERROR: Failed to install packages to new root\n")


def test_mkinitcpio_in_the_chroot_reads_drop_ins(host):
    guest_volume(host)
    ok(host, "pacstrap", "-K", MNT, "base", "linux")
    host.write_atomic(f"{MNT}/etc/mkinitcpio.conf.d/xen.conf", b"MODULES+=(xen-blkfront xen-netfront)\n")
    result = ok(host, "arch-chroot", MNT, "mkinitcpio", "-P")
    assert result.stderr == ""  # a mount point: no warning
    assert "==> Using drop-in configuration file: 'xen.conf'\n" in result.stdout
    assert "  -> -k /boot/vmlinuz-linux -g /boot/initramfs-linux-fallback.img -S autodetect\n" in result.stdout
    image = host.read_text(f"{MNT}/boot/initramfs-linux.img")
    assert "usr/lib/modules/6.17.9-arch1-1/kernel/drivers/block/xen-blkfront.ko.zst\n" in image
    assert "modules: xen-blkfront xen-netfront\n" in image
    assert "xen-blkfront" not in host.read_text("/boot/initramfs-linux.img")  # dom0's image untouched
    host.write_atomic(f"{MNT}/etc/mkinitcpio.conf.d/typo.conf", b"MODULES+=(xen-blkfrnt)\n")
    bad = run(host, "arch-chroot", MNT, "mkinitcpio", "-P")
    assert bad.returncode == 1 and "==> ERROR: module not found: 'xen-blkfrnt'\n" in bad.stderr


def test_arch_chroot_runs_programs_with_the_guest_as_root(host):
    host.makedirs("/srv/plain")
    warned = run(host, "arch-chroot", "/srv/plain", "mkinitcpio", "-P")
    assert warned.stderr.startswith("==> WARNING: /srv/plain is not a mountpoint. This may have undesirable side "
                                    "effects.\n") and "No presets found" in warned.stderr
    assert run(host, "arch-chroot", "/nosuch", "true").stderr == \
        "==> ERROR: Can't create chroot on non-directory /nosuch\n"
    guest_volume(host)
    ok(host, "pacstrap", "-K", MNT, "base", "linux", "openssh")
    ok(host, "arch-chroot", MNT, "systemctl", "enable", "serial-getty@hvc0.service", "systemd-networkd.service",
       "sshd.service")
    link = host.real(MNT) + "/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service"
    assert os.readlink(link) == "/usr/lib/systemd/system/serial-getty@.service"
    sshd = host.real(MNT) + "/etc/systemd/system/multi-user.target.wants/sshd.service"
    assert os.readlink(sshd) == "/usr/lib/systemd/system/sshd.service"  # absolute: read it in the chroot
    inside = ChrootView(host, MNT).read_text("/etc/systemd/system/multi-user.target.wants/sshd.service")
    assert "WantedBy=multi-user.target" in inside
    assert not host.exists("/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service")


def test_chpasswd_writes_the_hash_into_the_guest_and_never_prints_it(host):
    guest_volume(host)
    ok(host, "pacstrap", "-K", MNT, "base")
    secret = "$6$salt$abcdefghijklmnopqrstuvwxyz"
    result = ok(host, "chpasswd", "-e", "-R", MNT, stdin=f"root:{secret}\n".encode())
    assert secret not in result.stdout + result.stderr
    root = host.read_text(f"{MNT}/etc/shadow").splitlines()[0].split(":")
    assert root[:2] == ["root", secret] and host.stat(f"{MNT}/etc/shadow").mode == 0o600
    assert secret not in (host.read_text("/etc/shadow") or "")
    unknown = run(host, "chpasswd", "-e", "-R", MNT, stdin=b"nobody2:$6$x$y\n")
    assert unknown.returncode == 1 and unknown.stderr == ("chpasswd: line 1: user 'nobody2' does not exist\n"
                                                          "chpasswd: error detected, changes ignored\n")


# rsync, genfstab, cp, install, mkdir

def test_rsync_copies_the_system_honouring_excludes(host):
    guest_volume(host)
    ok(host, "rsync", "-aAXH", "--numeric-ids", *(f"--exclude=/{d}/*" for d in (
        "proc", "sys", "dev", "run", "tmp", "mnt", "var/lib/xenbook")), "/", f"{MNT}/")
    assert host.read_text(f"{MNT}/etc/hostname") == "sample-arch\n"
    assert host.listdir(f"{MNT}/proc") == [] and host.listdir(f"{MNT}/var/lib/xenbook") == []
    assert host.exists(f"{MNT}/boot/grub/grub.cfg")  # /boot is another filesystem: rsync without -x crosses it
    assert not host.exists(f"{MNT}/.xenbook-sample") and not host.exists(f"{MNT}{MNT}")
    assert os.readlink(host.real(MNT) + "/etc/os-release") == "../usr/lib/os-release"
    ok(host, "mkdir", "-p", "/srv/copy")
    ok(host, "rsync", "-aAXH", "--exclude=/boot/*", "--exclude=*.img", f"{MNT}/", "/srv/copy/")  # from a mount
    assert host.read_text("/srv/copy/etc/hostname") == "sample-arch\n" and host.listdir("/srv/copy/boot") == []
    missing = run(host, "rsync", "-a", "/nosuch/", f"{MNT}/")
    assert missing.returncode == 23 and 'change_dir "/nosuch" failed' in missing.stderr


def test_genfstab_tags_and_needs_a_mountpoint(host):
    host.makedirs(MNT)
    assert run(host, "genfstab", "-U", MNT).stderr == f"==> ERROR: {MNT} is not a mountpoint\n"
    guest_volume(host)
    assert ok(host, "genfstab", MNT).stdout == (f"# UUID={UUID} LABEL=dom01\n/dev/mapper/vg0-dom01\t/         \t"
                                                "ext4      \trw,relatime\t0 1\n\n")
    assert ok(host, "genfstab", "-L", MNT).stdout.splitlines()[:2] == [
        f"# /dev/mapper/vg0-dom01 UUID={UUID}", "LABEL=dom01         \t/         \text4      \trw,relatime\t0 1"]


def test_install_cp_and_mkdir(host):
    guest_volume(host)
    ok(host, "pacstrap", "-K", MNT, "base", "linux")
    for name in ("vmlinuz-linux", "initramfs-linux.img"):
        ok(host, "install", "-D", "-m", "0644", f"{MNT}/boot/{name}", f"/var/lib/xen/boot/dom01/{name}")
        assert host.read_bytes(f"/var/lib/xen/boot/dom01/{name}") == host.read_bytes(f"{MNT}/boot/{name}")
        assert host.stat(f"/var/lib/xen/boot/dom01/{name}").mode == 0o644
    os.utime(host.real("/etc/hostname"), (1000000000, 1000000000))
    host.makedirs("/srv")
    ok(host, "cp", "-p", "/etc/hostname", "/srv/")
    assert os.stat(host.real("/srv/hostname")).st_mtime == 1000000000
    assert run(host, "cp", "-p", "/nosuch", "/srv/").stderr == "cp: cannot stat '/nosuch': No such file or directory\n"
    assert run(host, "cp", "/etc/hostname", "/nodir/").stderr == \
        "cp: cannot create regular file '/nodir/': Not a directory\n"
    assert run(host, "install", "-m", "0644", "/etc/hostname", "/no/dir/x").returncode == 1
    ok(host, "mkdir", "-p", "-m", "0700", "/var/lib/xenbook/mnt/dom02")
    assert stat.S_IMODE(os.stat(host.real("/var/lib/xenbook/mnt/dom02")).st_mode) == 0o700
    assert run(host, "mkdir", "/etc").stderr == "mkdir: cannot create directory '/etc': File exists\n"
    assert run(host, "mkdir", "/a/b").stderr == "mkdir: cannot create directory '/a/b': No such file or directory\n"
    ok(host, "install", "-d", "-m", "0755", "/srv/x")  # install -d still works
    assert host.stat("/srv/x").kind == "dir"


def test_debugfs_stat_and_dump_read_a_filesystem_without_mounting_it(host):
    guest_volume(host)
    host.makedirs(f"{MNT}/boot")
    host.write_atomic(f"{MNT}/boot/vmlinuz-linux", b"kernel\n", mode=0o600)
    os.utime(host.real(f"{MNT}/boot/vmlinuz-linux"), (1763633472.5, 1763633472.5))
    ok(host, "umount", MNT)
    stat_out = ok(host, "debugfs", "-D", "-R", "stat /boot/vmlinuz-linux", "/dev/vg0/dom01")
    assert stat_out.stderr == "debugfs 1.47.3 (8-Jul-2025)\n" and "Type: regular    Mode:  0600" in stat_out.stdout
    assert "Size: 7\n" in stat_out.stdout and " mtime: 0x691ee940:00000000 -- Thu Nov 20 10:11:12 2025\n" in \
        stat_out.stdout
    missing = ok(host, "debugfs", "-R", "stat /boot/nosuch", "/dev/vg0/dom01")  # exits 0, as the real one does
    assert missing.stderr.endswith("/boot/nosuch: File not found by ext2_lookup \n")
    ok(host, "lvcreate", "-y", "-L", "1G", "-n", "empty", "vg0")
    assert "Bad magic number in super-block while trying to open /dev/vg0/empty\nstat: Filesystem not open\n" in \
        ok(host, "debugfs", "-R", "stat /boot/vmlinuz-linux", "/dev/vg0/empty").stderr
    ok(host, "mkdir", "-p", "/var/lib/xen/boot/dom01")
    ok(host, "debugfs", "-D", "-R", "dump -p /boot/vmlinuz-linux /var/lib/xen/boot/dom01/k.new", "/dev/vg0/dom01")
    ok(host, "mv", "-f", "/var/lib/xen/boot/dom01/k.new", "/var/lib/xen/boot/dom01/vmlinuz-linux")
    assert host.read_bytes("/var/lib/xen/boot/dom01/vmlinuz-linux") == b"kernel\n"
    assert ok(host, "stat", "-c", "%s %Y %a %n", "/var/lib/xen/boot/dom01/vmlinuz-linux").stdout == \
        "7 1763633472 600 /var/lib/xen/boot/dom01/vmlinuz-linux\n"
    gone = run(host, "stat", "-c", "%s", "/nosuch")
    assert (gone.returncode, gone.stderr) == (1, "stat: cannot statx '/nosuch': No such file or directory\n")

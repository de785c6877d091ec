"""findmnt on the sample host, differentially: the same command line answered by the simulation and by the real
findmnt over the mountinfo file the sample writes, compared (JSON, tables, raw, pairs), for every profile's mount
table and after a logical volume and a guest image are mounted; the mountinfo file follows mount and umount; with
findmnt hidden, or the file unreadable, the simulation answers and says so."""

from __future__ import annotations

import json
import shutil

import pytest

from xenbook.core.commands import Command
from xenbook_sample import findmnt as real_findmnt
from xenbook_sample import init_sample
from xenbook_sample.blockdev import findmnt as simulated_findmnt
from xenbook_sample.host import ToolResult
from xenbook_sample.mountinfo import MOUNTINFO, render
from xenbook_sample.options import Usage
from xenbook_sample.profiles import PROFILES

needs_findmnt = pytest.mark.skipif(shutil.which("findmnt") is None, reason="findmnt (util-linux) is not installed")
ALL = "TARGET,SOURCE,FSTYPE,OPTIONS,UUID,PARTUUID,LABEL,FSROOT,MAJ:MIN"
PRODUCT = ("-J", "-l", "-o", "TARGET,SOURCE,FSTYPE,UUID")  # what xenbook.facts.boot.mounts runs
MNT = "/var/lib/xenbook/mnt/dom01"
UUID = "6b0d6c4e-8f1a-4c3b-9d2e-1a2b3c4d5e6f"
IMAGE_UUID = "0d7c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"


def argvs(state: dict) -> list[tuple[str, ...]]:
    """The argv forms to compare on a table: the whole table in every mode, then each mount by target and source."""
    out = [(), ("-J",), ("-l",), ("-r",), ("-P",), PRODUCT, ("-o", ALL), ("-J", "-o", ALL), ("-l", "-o", ALL),
           ("-r", "-o", ALL), ("-P", "-o", ALL), ("-n", "-o", "SOURCE,MAJ:MIN,FSROOT"), ("-t", "ext4"),
           ("-J", "-t", "tmpfs,proc"), ("-t", "noext4"), ("-f",), ("-n", "-o", "SOURCE", "/usr"),
           ("-S", "/dev/nosuch")]
    for m in state["mounts"]:
        t, s = m["target"], m["source"]
        out += [(t,), ("-n", "-o", "SOURCE,FSTYPE", t), ("-J", "-M", t), ("-S", s), ("-no", "UUID,TARGET", "--target", t),
                ("-J", "-S", s, "-o", "TARGET,UUID,LABEL"), (s, t), ("-P", "-M", t, "-o", "SOURCE,MAJ:MIN,UUID")]
    return out


def simulated(host, argv) -> tuple[int, str]:
    try:
        result = simulated_findmnt(host, ["findmnt", *argv], None)
    except Usage as e:
        return e.args[1], ""
    return result.returncode, result.stdout


def disagreements(host) -> list[str]:
    """Every argv of argvs() where the real findmnt did not answer, or answered otherwise than the simulation."""
    out = []
    for argv in argvs(host.load_state()):
        real = real_findmnt.findmnt(host, ["findmnt", *argv], None)
        if not isinstance(real, ToolResult):
            out.append(f"{argv}: the real findmnt did not answer: {real.stderr}")
        elif (real.returncode, real.stdout) != simulated(host, argv):
            out.append(f"{argv}: real {real.returncode} {real.stdout!r} != simulated {simulated(host, argv)}")
    return out


def assert_findmnt_agrees(host) -> None:
    """The simulated and the real findmnt print the same for every argv of argvs() (when findmnt is installed: the
    simulation alone answers without it, as test_with_findmnt_hidden_the_simulation_answers_and_says_so checks)."""
    if shutil.which("findmnt") is not None:
        assert disagreements(host) == []
    assert host.read_text(MOUNTINFO) == render(host.load_state())


def run(host, *argv):
    result = host.run(Command.of(*argv))
    assert result.ok, f"{argv}: {result.returncode} {result.stdout}{result.stderr}"
    return result


def mounted(host):
    """An LV with ext4 at MNT and a guest image loop-mounted read-only below it, as a guest's set-up leaves them."""
    run(host, "lvcreate", "--yes", "--wipesignatures", "y", "-L", "2G", "-n", "dom01", "vg0")
    run(host, "mkfs.ext4", "-q", "-F", "-L", "dom01", "-U", UUID, "/dev/vg0/dom01")
    run(host, "mkdir", "-p", "-m", "0700", MNT)
    run(host, "mount", "/dev/vg0/dom01", MNT)
    run(host, "mkdir", "-p", "/var/lib/xen/images", f"{MNT}/boot")
    run(host, "truncate", "-s", "8G", "/var/lib/xen/images/dom01.img")
    run(host, "mkfs.ext4", "-q", "-F", "-U", IMAGE_UUID, "/var/lib/xen/images/dom01.img")
    run(host, "mount", "-o", "loop,ro", "/var/lib/xen/images/dom01.img", f"{MNT}/boot")


@needs_findmnt
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_simulated_and_real_findmnt_agree_on_each_profiles_table(profile, tmp_path):
    host = init_sample(str(tmp_path / "sample"), profile=profile)
    assert host.read_text(MOUNTINFO) == render(host.load_state())
    assert disagreements(host) == []


@needs_findmnt
def test_they_agree_with_an_lv_and_a_guest_image_mounted_and_after_umount(tmp_path):
    host = init_sample(str(tmp_path / "sample"))
    mounted(host)
    lines = host.read_text(MOUNTINFO).splitlines()
    assert lines[-2].split()[2:] == ["254:1", "/", MNT, "rw,relatime", "shared:8", "-", "ext4",
                                     "/dev/mapper/vg0-dom01", "rw"]
    assert lines[-1].split()[1:] == [lines[-2].split()[0], "7:0", "/", f"{MNT}/boot", "ro,relatime", "shared:9", "-",
                                     "ext4", "/dev/loop0", "ro"]  # mounted on the LV's mount: its ID is the parent
    assert disagreements(host) == []
    tree = json.loads(run(host, "findmnt", "-J", "-o", "TARGET,SOURCE,UUID").stdout)["filesystems"][0]["children"]
    guest = next(c for c in tree if c["target"] == MNT)
    assert guest["children"] == [{"target": f"{MNT}/boot", "source": "/dev/loop0", "uuid": IMAGE_UUID}]
    run(host, "umount", "-R", MNT)
    assert host.read_text(MOUNTINFO) == render(host.load_state()) and MNT not in host.read_text(MOUNTINFO)
    assert disagreements(host) == []


@needs_findmnt
def test_a_freed_mount_id_is_given_again_and_the_tree_lists_children_by_id(tmp_path):
    host = init_sample(str(tmp_path / "sample"))
    mounted(host)
    run(host, "umount", f"{MNT}/boot")
    run(host, "mkdir", "-p", "/mnt/image")
    run(host, "mount", "-o", "loop", "/var/lib/xen/images/dom01.img", "/mnt/image")
    assert [m["target"] for m in host.load_state()["mounts"]][-2:] == [MNT, "/mnt/image"]
    assert [line.split()[:2] for line in host.read_text(MOUNTINFO).splitlines()][-2:] == [["29", "22"], ["30", "22"]]
    run(host, "umount", MNT)
    run(host, "mount", "/dev/vg0/dom01", MNT)  # ID 29 again, listed after /mnt/image (30) in the table
    tree = json.loads(run(host, "findmnt", "-J").stdout)["filesystems"][0]["children"]
    assert [c["target"] for c in tree][-2:] == [MNT, "/mnt/image"]
    assert disagreements(host) == []


@needs_findmnt
def test_findmnt_is_counted_as_answered_by_the_real_tool(tmp_path):
    host = init_sample(str(tmp_path / "sample"))
    result = host.run(Command.of("findmnt", *PRODUCT))
    assert isinstance(result, ToolResult) and result.stderr == ""
    assert host.answered == {"real": 1, "simulated": 0}
    run(host, "uname")
    assert host.answered == {"real": 1, "simulated": 1}


@needs_findmnt
def test_a_stale_mountinfo_file_is_rewritten_before_findmnt_reads_it(tmp_path):
    """A run killed between state.json and the mountinfo file leaves the file behind the state: findmnt reads the
    state's table all the same."""
    host = init_sample(str(tmp_path / "sample"))
    host.write_atomic(MOUNTINFO, b"22 1 8:3 / / rw - ext4 /dev/sda3 rw\n", mode=0o444)
    rows = json.loads(run(host, "findmnt", *PRODUCT).stdout)["filesystems"]
    assert "/boot" in [r["target"] for r in rows]
    assert host.read_text(MOUNTINFO) == render(host.load_state())


def test_with_findmnt_hidden_the_simulation_answers_and_says_so(tmp_path, monkeypatch):
    host = init_sample(str(tmp_path / "sample"))
    expected = simulated(host, PRODUCT)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = host.run(Command.of("findmnt", *PRODUCT))
    assert (result.returncode, result.stdout) == expected and not isinstance(result, ToolResult)
    assert result.stderr == ("[simulated] findmnt is not installed on this machine, so xenbook's sample host "
                             "answered findmnt with its simulation\n")
    assert host.answered == {"real": 0, "simulated": 1}
    bad = host.run(Command.of("findmnt", "-o", "NOPE"))
    assert bad.returncode == 1 and bad.stderr.startswith("findmnt: unknown column: NOPE\n[simulated] findmnt is not")


@needs_findmnt
def test_a_mountinfo_file_findmnt_cannot_read_falls_back_to_the_simulation(tmp_path, monkeypatch):
    host = init_sample(str(tmp_path / "sample"))
    monkeypatch.setattr(real_findmnt, "sync", lambda host, state: str(tmp_path / "gone" / "mountinfo"))
    for argv in (PRODUCT, ("-n", "-o", "SOURCE", "/")):
        result = host.run(Command.of("findmnt", *argv))
        assert (result.returncode, result.stdout) == simulated(host, argv) and result.returncode == 0
        assert result.stderr.endswith("[simulated] findmnt could not read the sample's mountinfo file, so xenbook's "
                                      "sample host answered findmnt with its simulation\n")
    assert host.answered == {"real": 0, "simulated": 2}


@needs_findmnt
def test_what_the_real_findmnt_would_read_from_this_machine_is_simulated(tmp_path):
    """Sizes come from statfs of the mount point here, options the sample does not pass on might read this
    machine's files: the simulation answers (and rejects what it does not simulate)."""
    host = init_sample(str(tmp_path / "sample"))
    size = host.run(Command.of("findmnt", "-o", "TARGET,SIZE"))
    assert size.returncode == 1 and "[simulated] findmnt's column SIZE is not read from the mount table" in size.stderr
    fstab = host.run(Command.of("findmnt", "--fstab"))
    assert fstab.returncode == 1 and "options the sample does not pass on" in fstab.stderr
    nosuch = host.run(Command.of("findmnt", "-S", "UUID=00000000-0000-4000-8000-000000000000"))
    assert (nosuch.returncode, nosuch.stdout) == (1, "") and "no device of the sample" in nosuch.stderr
    assert host.answered == {"real": 0, "simulated": 3}

"""Drift of a guest on the sample host is said, never passed as ok: a bigger size (grown only with grow: true and the
guest shut off, through the real e2fsck and resize2fs on an image), a config changed under a running guest (takes
effect at its next restart), autostart unticked (the link xenbook made goes), a guest made absent (shut down, its
config and disk kept); and the attacks: a shrink, a partition, a running guest, a user's own autostart file, an
absent guest that never existed, an absent name that is a user's running domain."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.test_cli import tree_hashes
from xenbook.core.commands import Command
from xenbook.core.errors import ParameterError
from xenbook.core.model import build
from xenbook.sections.domu.grow import size_bytes
from xenbook.sections.domu.params import GuestParams
from xenbook_sample import SampleHost
from xenbook_sample.images import find_tool

GIB = 1024 ** 3


def xenbook(*args):
    """(exit code, stdout, stderr) of the xenbook command."""
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", *args], capture_output=True, text=True,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def run(verb, root, guests, code=0):
    params = root.parent / "host.yaml"
    params.write_text(yaml.safe_dump({"target": f"sample:{root}", "dom0": {"xendomains": True}, "guests": guests}))
    got, out, err = xenbook(verb, "--params", str(params), "--sections", "domu", "--json")
    assert got == code, out + err
    return {s["name"]: s for s in json.loads(out[out.index("{"):])["steps"]}


def drift(steps):
    """The rows that are not plainly ok: changes, failures, and checks with a verdict other than ok."""
    return {n: (s["status"], s.get("verdict", "")) for n, s in steps.items()
            if s["status"] != "ok" or s.get("verdict", "") not in ("", "ok")}


@pytest.fixture(scope="module")
def xen_host(tmp_path_factory):
    """A sample host rebooted into Xen with dom0 set up (xendomains on)."""
    d = tmp_path_factory.mktemp("drift") / "h"
    assert xenbook("sample", "init", str(d))[0] == 0
    params = d.parent / "dom0.yaml"
    params.write_text(f"target: sample:{d}\ndom0:\n  xendomains: true\n")
    code, out, err = xenbook("apply", "--params", str(params), "--sections", "install,boot,dom0")
    assert code == 3, out + err
    assert xenbook("reboot", "--target", f"sample:{d}")[0] == 0
    return d


def blocks(image) -> int:
    """The block count in an ext4 image's superblock (what resize2fs changes)."""
    with open(image, "rb") as f:
        f.seek(1024)
        sb = f.read(40)
    return int.from_bytes(sb[4:8], "little") * (1024 << int.from_bytes(sb[24:28], "little"))


@pytest.mark.slow
@pytest.mark.skipif(not find_tool("resize2fs") or not find_tool("e2fsck"), reason="needs e2fsprogs")
def test_size_memory_and_autostart_drift_is_said_then_applied_then_ok(xen_host):
    lvm = {"name": "drift01", "memory": 512, "size": "4G", "autostart": True}
    image = {"name": "drift02", "memory": 512, "storage": "image", "size": "2G", "autostart": True}
    run("apply", xen_host, [lvm, image])
    assert not drift(run("apply", xen_host, [lvm, image]))

    lvm.update(size="6G", memory=768, autostart=False)
    image.update(size="3G")
    plan = run("plan", xen_host, [lvm, image])
    assert drift(plan) == {"GuestDiskSize(drift01)": ("ok", "warning"), "GuestDiskSize(drift02)": ("ok", "warning"),
                           "GuestConfig(drift01)": ("would-change", ""),
                           "GuestAutostart(drift01)": ("would-change", "")}
    assert ("size differs: the volume /dev/vg0/drift01 is 4 GiB, size asks 6 GiB; set grow: true to grow it"
            in plan["GuestDiskSize(drift01)"]["reason"])
    assert "is 2 GiB, size asks 3 GiB" in plan["GuestDiskSize(drift02)"]["reason"]
    assert "takes effect at its next restart" in plan["GuestConfig(drift01)"]["reason"]
    assert "xl mem-set drift01 768m" not in plan["GuestConfig(drift01)"]["reason"]  # above the maxmem it started with
    assert "remove /etc/xen/auto/drift01.cfg" in plan["GuestAutostart(drift01)"]["reason"]

    run("apply", xen_host, [lvm, image])
    assert not (xen_host / "etc/xen/auto/drift01.cfg").is_symlink() and (xen_host / "etc/xen/drift01.cfg").exists()
    lvm["grow"] = image["grow"] = True
    steps = run("apply", xen_host, [lvm, image])  # both run: nothing is resized under them
    assert drift(steps) == {"GuestDiskSize(drift01)": ("ok", "warning"), "GuestDiskSize(drift02)": ("ok", "warning")}
    assert "drift01 is running" in steps["GuestDiskSize(drift01)"]["reason"]
    img = xen_host / "var/lib/xen/images/drift02.img"
    assert img.stat().st_size == 2 * GIB and blocks(img) == 2 * GIB

    host = SampleHost.open(str(xen_host))
    for name in ("drift01", "drift02"):
        assert host.run(Command.of("xl", "shutdown", "-w", name)).ok
    steps = run("apply", xen_host, [lvm, image])
    assert {n: s["status"] for n, s in steps.items() if s["status"] != "ok"} == {
        "GuestDiskSize(drift01)": "changed", "GuestDiskSize(drift02)": "changed",
        "GuestRunning(drift01)": "changed", "GuestRunning(drift02)": "changed"}
    assert img.stat().st_size == 3 * GIB and blocks(img) == 3 * GIB, "the real resize2fs grew the filesystem"
    lv = next(x for x in host.load_state()["lvm"]["vg0"]["lvs"] if x["name"] == "drift01")
    assert lv["extents"] * host.load_state()["lvm"]["vg0"]["extent_size"] == 6 * GIB
    assert not drift(run("plan", xen_host, [lvm, image]))

    # across a reboot: the autostarted image guest comes back; drift01 (autostart off) is started by the next apply
    assert xenbook("reboot", "--target", f"sample:{xen_host}")[0] == 0
    assert drift(run("plan", xen_host, [lvm, image])) == {"GuestRunning(drift01)": ("would-change", "")}
    run("apply", xen_host, [lvm, image])
    assert not drift(run("plan", xen_host, [lvm, image]))

    # state absent: shut down, the config and disk kept, and not started again by a reboot
    lvm.update(state="absent", autostart=True)
    steps = run("apply", xen_host, [lvm, image])
    assert steps["GuestAbsent(drift01)"]["status"] == "changed"
    assert "kept: /etc/xen/drift01.cfg and its disk /dev/vg0/drift01" in steps["GuestAbsent(drift01)"]["reason"]
    assert not drift(run("plan", xen_host, [lvm, image]))
    assert xenbook("reboot", "--target", f"sample:{xen_host}")[0] == 0
    assert not drift(run("plan", xen_host, [lvm, image]))
    assert not host.run(Command.of("xl", "domid", "drift01")).ok
    assert (xen_host / "etc/xen/drift01.cfg").exists() and "drift01" in str(host.load_state()["lvm"]["vg0"]["lvs"])


@pytest.mark.slow
def test_attacks_change_nothing_and_say_why(xen_host):
    guest = {"name": "atk01", "memory": 512, "size": "4G"}
    run("apply", xen_host, [guest])
    host = SampleHost.open(str(xen_host))
    extents = next(x for x in host.load_state()["lvm"]["vg0"]["lvs"] if x["name"] == "atk01")["extents"]

    # a user's own file where the autostart link goes: neither replaced (autostart on) nor removed (autostart off)
    own = xen_host / "etc/xen/auto/atk01.cfg"
    own.parent.mkdir(exist_ok=True)
    own.write_text("# mine\nname = 'atk01'\n")
    for autostart in (True, False):
        steps = run("apply", xen_host, [dict(guest, autostart=autostart)])
        row = steps["GuestAutostart(atk01)"]
        assert row["verdict"] == "warning" and "is a file of its own, not a link" in row["reason"], row
    assert own.read_text() == "# mine\nname = 'atk01'\n" and not own.is_symlink()
    own.unlink()

    # a shrink, grow set or not, and with the guest stopped: reported and refused, the volume untouched; and a
    # partition with grow: said how, never touched
    assert host.run(Command.of("xl", "shutdown", "-w", "atk01")).ok
    partition = {"name": "part01", "storage": "partition", "device": "/dev/sda3", "grow": True, "bootstrap": "none",
                 "start": False}
    steps = run("plan", xen_host, [dict(guest, size="2G"), partition])
    assert "xenbook never shrinks a disk" in steps["GuestDiskSize(atk01)"]["reason"]
    assert "xenbook does not move partition boundaries" in steps["GuestDiskSize(part01)"]["reason"]
    steps = run("apply", xen_host, [dict(guest, size="2G", grow=True, start=False)])
    assert "xenbook never shrinks a disk" in steps["GuestDiskSize(atk01)"]["reason"]
    assert steps["GuestDiskSize(atk01)"]["verdict"] == "warning"
    assert next(x for x in host.load_state()["lvm"]["vg0"]["lvs"] if x["name"] == "atk01")["extents"] == extents

    # a grow killed between lvextend and resize2fs: the volume is as size asks, its filesystem is not, and that is said
    assert host.run(Command.of("lvextend", "-L", "5G", "vg0/atk01")).ok
    steps = run("plan", xen_host, [dict(guest, size="5G")])
    assert "is 5 GiB as size asks, but its filesystem only 4 GiB" in steps["GuestDiskSize(atk01)"]["reason"]
    steps = run("apply", xen_host, [dict(guest, size="5G", grow=True)])
    assert steps["GuestDiskSize(atk01)"]["commands"] == ["e2fsck -f -p /dev/vg0/atk01", "resize2fs /dev/vg0/atk01"]
    assert not drift(run("plan", xen_host, [dict(guest, size="5G", grow=True)]))

    # absent: a guest that never existed, and a user's own running domain of that name
    (xen_host / "etc/xen/mine.cfg").write_text('name = "mine"\ntype = "pvh"\nmemory = 256\n'
                                               'kernel = "/boot/vmlinuz-linux"\n')
    assert host.run(Command.of("xl", "create", "/etc/xen/mine.cfg")).ok
    before = tree_hashes(xen_host)
    steps = run("apply", xen_host, [{"name": "ghost", "state": "absent"}, {"name": "mine", "state": "absent"}],
                code=1)
    assert "nothing to remove" in steps["GuestAbsent(ghost)"]["reason"]
    assert "state absent stops only guests xenbook made" in steps["GuestAbsent(mine)"]["reason"]
    assert host.run(Command.of("xl", "domid", "mine")).ok, "xenbook stopped a domain it did not make"
    records = (".xenbook-sample", "var/lib/xenbook")  # the simulator's state and xenbook's run records
    assert {k: v for k, v in tree_hashes(xen_host).items() if not k.startswith(records)} == \
        {k: v for k, v in before.items() if not k.startswith(records)}


@pytest.mark.parametrize("values, where, words", [
    ({"state": "absent", "force": True}, "guests.0", "set confirm to the guest's name, g1"),
    ({"state": "absent", "force": True, "confirm": "/dev/vg0/g1"}, "guests.0", "set confirm to the guest's name"),
    ({"state": "gone"}, "guests.0.state", "'present' or 'absent'"),
    ({"grow": "yes please"}, "guests.0.grow", "must be true or false"),
])
def test_bad_drift_parameters_are_named(values, where, words):
    with pytest.raises(ParameterError) as raised:
        build(GuestParams, {"name": "g1", **values}, prefix="guests.0.")
    text = str(raised.value)
    assert where in text and words in text, text


def test_absent_forced_and_confirmed_is_accepted():
    g = build(GuestParams, {"name": "g1", "state": "absent", "force": True, "confirm": "g1"})
    assert g.confirm == "g1" and os.path.basename(g.disk) == "g1"


@pytest.mark.parametrize("size, expected", [("20G", 20 * GIB), ("1536M", 1536 * 1024 ** 2), ("1048577K", 1073742848),
                                            ("1T", 1024 * GIB)])
def test_size_is_read_in_bytes_as_lvcreate_and_truncate_read_it(size, expected):
    """1048577K is a little more than 1 GiB: read as whole MiB it would look smaller than the image truncate made."""
    assert size_bytes(size) == expected


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    from xenbook_sample.host import init_sample
    return init_sample(str(tmp_path_factory.mktemp("bare") / "h"))


@pytest.mark.parametrize("spec", ["5K", "+1K", "-1K", ">4K", ">1K", "<2K", "<4K", "/3K", "%3K", "0"])
def test_the_samples_truncate_sizes_files_as_the_real_one(bare, tmp_path, spec):
    """The same argv through the sample's truncate and this machine's: the prefixes (> at least, < at most, ...)."""
    real = tmp_path / "real.img"
    real.write_bytes(b"x" * 2500)
    bare.makedirs("/var/tmp")
    bare.write_atomic("/var/tmp/t.img", b"x" * 2500)
    got = bare.run(Command.of("truncate", "-s", spec, "/var/tmp/t.img"))
    want = subprocess.run(["truncate", "-s", spec, str(real)], capture_output=True, text=True)
    assert got.returncode == want.returncode
    assert os.path.getsize(bare.real("/var/tmp/t.img")) == real.stat().st_size


def test_the_samples_readlink_answers_as_the_real_one(bare, tmp_path):
    os.symlink("/etc/xen/g.cfg", tmp_path / "link")
    (tmp_path / "file").write_text("x")
    os.makedirs(bare.real("/etc/xen/auto"), exist_ok=True)
    os.symlink("/etc/xen/g.cfg", bare.real("/etc/xen/auto") + "/link")
    bare.write_atomic("/etc/xen/auto/file", b"x")
    for name in ("link", "file", "missing"):
        got = bare.run(Command.of("readlink", f"/etc/xen/auto/{name}"))
        want = subprocess.run(["readlink", str(tmp_path / name)], capture_output=True, text=True)
        assert (got.returncode, got.stdout) == (want.returncode, want.stdout), name

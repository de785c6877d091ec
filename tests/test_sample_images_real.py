"""The sample host's image files against this machine's REAL mkfs.ext4 and blkid: the same argv through the sample
(the host path of an image in its tree) and straight to the real tools (a sparse file of the same size here) print
the same and exit the same; with the tools hidden, the simulation answers and says so."""

from __future__ import annotations

import os
import subprocess

import pytest

from xenbook.core.commands import Command
from xenbook.sections.domu.identity import identified
from xenbook.sections.domu.params import GuestParams
from xenbook.sections.domu.storage import GuestFilesystem
from xenbook_sample import images, init_sample

TOOLS = ("mkfs.ext4", "blkid")
MISSING = [t for t in TOOLS if images.find_tool(t) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"needs e2fsprogs and util-linux ({', '.join(MISSING)} "
                                                          "not installed)")
IMAGE = "/var/lib/xen/images/dom01.img"
UUID = "6b0d6c4e-8f1a-4c3b-9d2e-1a2b3c4d5e6f"
OTHER = "0d7c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"


@pytest.fixture
def pair(tmp_path):
    """(sample host with an empty 1 GiB image at IMAGE, a local empty 1 GiB sparse file)."""
    host = init_sample(str(tmp_path / "sample"))
    assert host.run(Command.of("mkdir", "-p", "/var/lib/xen/images")).ok
    assert host.run(Command.of("truncate", "-s", "1G", IMAGE)).ok
    local = tmp_path / "dom01.img"
    os.truncate(os.open(local, os.O_CREAT | os.O_WRONLY, 0o644), 1024 ** 3)
    return host, str(local)


def both(pair, *argv: str) -> tuple[tuple, tuple]:
    """(exit code, stdout, stderr) of argv on the sample's image and of the real tool on the local file (blkid with
    a private cache), the local path written as IMAGE."""
    host, local = pair
    sample = host.run(Command.of(*argv, IMAGE))
    real_argv = [images.find_tool(argv[0]), *(["-c", "/dev/null"] if argv[0] == "blkid" else []), *argv[1:], local]
    real = subprocess.run(real_argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, "BLKID_FILE": "/dev/null"})
    fix = lambda text: text.replace(local, IMAGE)  # noqa: E731
    return (sample.returncode, sample.stdout, sample.stderr), (real.returncode, fix(real.stdout), fix(real.stderr))


def same(pair, *argv: str) -> tuple:
    sample, real = both(pair, *argv)
    assert sample == real, argv
    return sample


BLKID_FORMS = (("blkid", "-p", "-o", "export"), ("blkid", "-s", "UUID", "-o", "value"), ("blkid",),
               ("blkid", "-p"))


def test_blkid_on_an_empty_sparse_image_exits_2_like_the_real_one(pair):
    for form in BLKID_FORMS:
        assert same(pair, *form) == (2, "", "")
    assert pair[0].answered == {"real": 4, "simulated": 2}  # mkdir and truncate simulated


def test_mkfs_then_blkid_match_the_real_tools(pair):
    assert same(pair, "mkfs.ext4", "-q", "-F", "-L", "dom01", "-U", UUID) == (0, "", "")
    export = same(pair, "blkid", "-p", "-o", "export")
    assert export[0] == 0 and export[1].splitlines()[:3] == [f"DEVNAME={IMAGE}", "LABEL=dom01", f"UUID={UUID}"]
    assert "TYPE=ext4" in export[1]
    for form in BLKID_FORMS[1:]:
        same(pair, *form)
    host = pair[0]
    vol = host.load_state()["volumes"][IMAGE]
    assert (vol["id"], vol["uuid"], vol["label"], vol["fstype"]) == (UUID, UUID, "dom01", "ext4")
    assert host.listdir(f"/.xenbook-sample/volumes/{UUID}") == ["lost+found"]


def test_mkfs_on_an_existing_filesystem_and_bad_arguments_match_the_real_tool(pair):
    same(pair, "mkfs.ext4", "-q", "-F", "-L", "dom01", "-U", UUID)
    same(pair, "mkfs.ext4", "-q", "-L", "again", "-U", OTHER)  # no -F, stdin no terminal: it proceeds
    assert pair[0].load_state()["volumes"][IMAGE]["id"] == OTHER
    same(pair, "mkfs.ext4", "-F", "-U", UUID)  # the whole report, progress included
    same(pair, "mkfs.ext4", "-q", "-F", "-U", "bad")
    same(pair, "mkfs.ext4", "-q", "-F", "-L", "a-label-longer-than-16", "-U", OTHER)
    same(pair, "blkid", "-p", "-o", "export")


def test_signatures_other_than_ext4_are_what_the_real_blkid_finds(pair):
    host, local = pair
    mbr = bytes(446) + bytes([0x80, 0, 0, 0, 0x83, 0, 0, 0]) + (2048).to_bytes(4, "little") + \
        (4096).to_bytes(4, "little") + bytes(48) + b"\x55\xaa"
    for path in (host.real(IMAGE), local):  # a guest's installer partitioned the image
        with open(path, "r+b") as f:
            f.write(mbr)
    export = same(pair, "blkid", "-p", "-o", "export")
    assert "PTTYPE=dos" in export[1]
    plan = GuestFilesystem(identified(GuestParams(name="dom01", storage="image"), host)).plan(host)
    assert plan.failed and "dos partition table" in plan.reason
    for path in (host.real(IMAGE), local):  # a hand-made qcow2 header: the real blkid knows no qcow2 either
        with open(path, "r+b") as f:
            f.write(b"QFI\xfb\0\0\0\x03" + bytes(504))
    assert same(pair, "blkid", "-p", "-o", "export") == (2, "", "")


def test_a_mounted_image_is_the_folder_of_its_real_uuid(pair):
    host = pair[0]
    assert host.run(Command.of("mkfs.ext4", "-q", "-F", "-U", UUID, IMAGE)).ok
    assert host.run(Command.of("mkdir", "-p", "/mnt/g")).ok
    assert host.run(Command.of("mount", "-o", "loop", IMAGE, "/mnt/g")).ok
    host.write_atomic("/mnt/g/hello", b"hi\n")
    assert host.read_text(f"/.xenbook-sample/volumes/{UUID}/hello") == "hi\n"
    assert host.run(Command.of("umount", "/mnt/g")).ok
    made_here = subprocess.run([images.find_tool("mkfs.ext4"), "-q", "-F", "-U", OTHER, host.real(IMAGE)])
    assert made_here.returncode == 0  # formatted behind the sample's back: mount follows the image
    assert host.run(Command.of("mount", "-o", "loop", IMAGE, "/mnt/g")).ok
    assert host.listdir("/mnt/g") == ["lost+found"] and host.load_state()["volumes"][IMAGE]["id"] == OTHER


def test_without_the_real_tools_the_simulation_answers_and_says_so(pair, monkeypatch):
    monkeypatch.setattr(images, "find_tool", lambda name: None)
    host = pair[0]
    made = host.run(Command.of("mkfs.ext4", "-q", "-F", "-L", "dom01", "-U", UUID, IMAGE))
    assert made.ok and made.stderr == images.missing("mkfs.ext4")
    assert os.stat(host.real(IMAGE)).st_blocks == 0  # the image itself is untouched
    probe = host.run(Command.of("blkid", "-p", "-o", "export", IMAGE))
    assert probe.returncode == 0 and f"UUID={UUID}" in probe.stdout and probe.stderr == images.missing("blkid")
    assert host.load_state()["volumes"][IMAGE]["simulated"] is True
    assert host.answered["real"] == 0
    assert host.run(Command.of("mkdir", "-p", "/mnt/g")).ok
    assert host.run(Command.of("mount", "-o", "loop", IMAGE, "/mnt/g")).ok

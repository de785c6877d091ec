"""Hostile links: a sample host whose tree holds symbolic links out of it (absolute and relative, through parents,
dangling, through .xenbook-sample/volumes/ and dressed up as a mount's link) is written to by the hosts' file
operations, the chroot view that arch-chroot, pacstrap and chpasswd -R use, the simulated rsync, cp, install, mkdir,
ln, mv and truncate, and the domU bootstrap of a guest copied from a template. Nothing outside the sample's root may
change: the canaries beside it keep their bytes and times, and no new file appears there.

Each case counts as one "hostile links" in the tally, each change outside the root as one "escapes"."""

from __future__ import annotations

import os

import pytest

from xenbook.connectors.rooted import ChrootHost
from xenbook.connectors.targets import open_host
from xenbook.core.errors import HostError

from . import samples
from .escapes import (absolute, attempt, changes, climbing, like_a_mount, outside_of, put, relative, run, snapshot,
                      via_volumes)

GUEST = "/srv/g"  # a guest tree made by pacstrap, entered with arch-chroot
TEMPLATE = "/srv/tmpl"  # the copy_from template of the domU bootstrap
PACKAGES = ("base", "linux", "openssh")


def _chpasswd(h, root):
    run(h, "chpasswd", "-e", "-R", GUEST, stdin=f"root:{samples.HASH}\n")


def _mkinitcpio(h, root):
    run(h, "arch-chroot", GUEST, "mkinitcpio", "-P")


def _enable(h, root):
    run(h, "arch-chroot", GUEST, "systemctl", "enable", "sshd.service", "systemd-networkd.service")


def _pacstrap(h, root):
    run(h, "pacstrap", "-K", "/srv/p", *PACKAGES)


def _mounted_chpasswd(h, root):
    for argv in (("mkdir", "-p", "/srv/img", "/mnt/g"), ("truncate", "-s", "2G", "/srv/img/g.img"),
                 ("mkfs.ext4", "-q", "/srv/img/g.img"), ("mount", "-o", "loop", "/srv/img/g.img", "/mnt/g"),
                 ("rsync", "-aAXH", f"{GUEST}/", "/mnt/g/"), ("arch-chroot", "/mnt/g", "mkinitcpio", "-P"),
                 ("chpasswd", "-e", "-R", "/mnt/g")):
        run(h, *argv, stdin=f"root:{samples.HASH}\n")


CHROOT_VIEW = [  # (case, links put in the guest or beside it, what runs)
    ("chpasswd -R: /etc/shadow absolute via volumes/", [(f"{GUEST}/etc/shadow", via_volumes("etc/shadow"))], _chpasswd),
    ("chpasswd -R: /etc climbing via volumes/", [(f"{GUEST}/etc", via_volumes("etc", up=True))], _chpasswd),
    ("chpasswd -R: dangling /etc/shadow via volumes/", [(f"{GUEST}/etc/shadow", via_volumes("new-shadow"))],
     _chpasswd),
    ("chpasswd -R: /etc/shadow absolute", [(f"{GUEST}/etc/shadow", absolute("etc/shadow"))], _chpasswd),
    ("chpasswd -R: /etc/shadow relative", [(f"{GUEST}/etc/shadow", relative("etc/shadow"))], _chpasswd),
    ("arch-chroot mkinitcpio: /boot via volumes/", [(f"{GUEST}/boot", via_volumes("boot"))], _mkinitcpio),
    ("arch-chroot mkinitcpio: /boot like a mount's link", [(f"{GUEST}/boot", like_a_mount)], _mkinitcpio),
    ("arch-chroot mkinitcpio: /boot climbing", [(f"{GUEST}/boot", climbing("boot"))], _mkinitcpio),
    ("arch-chroot systemctl enable: /etc/systemd/system via volumes/",
     [(f"{GUEST}/etc/systemd/system", via_volumes("dir", up=True))], _enable),
    ("arch-chroot systemctl enable: /etc/systemd absolute", [(f"{GUEST}/etc/systemd", absolute("dir"))], _enable),
    ("arch-chroot systemctl enable: a .wants folder linked out",
     [(f"{GUEST}/etc/systemd/system/multi-user.target.wants", absolute("dir"))], _enable),
    ("arch-chroot systemctl enable: a .wants folder climbing out",
     [(f"{GUEST}/etc/systemd/system/sockets.target.wants", climbing("mnt"))], _enable),
    ("pacstrap: /var via volumes/", [("/srv/p/var", via_volumes("dir"))], _pacstrap),
    ("pacstrap: /etc absolute", [("/srv/p/etc", absolute("etc"))], _pacstrap),
    ("pacstrap: /boot like a mount's link", [("/srv/p/boot", like_a_mount)], _pacstrap),
    ("mounted guest: /etc/shadow climbing via volumes/", [(f"{GUEST}/etc/shadow", via_volumes("etc/shadow", True))],
     _mounted_chpasswd),
    ("mounted guest: /boot like a mount's link", [(f"{GUEST}/boot", like_a_mount)], _mounted_chpasswd),
]

HOST_FILES = [  # the runner's writes on a sample: and a chroot: target (RootedHost.real)
    ("write_atomic through a parent linked out", [("/srv/a", absolute("dir"))],
     lambda h, root: attempt(lambda: h.write_atomic("/srv/a/new.conf", b"x\n"))),
    ("write_atomic on a file linked out", [("/srv/f", absolute("canary"))],
     lambda h, root: attempt(lambda: h.write_atomic("/srv/f", b"x\n"))),
    ("append through a climbing link", [("/srv/log", climbing("canary"))],
     lambda h, root: attempt(lambda: h.append("/srv/log", b"x\n"))),
    ("create_exclusive on a dangling link", [("/srv/lock", absolute("new-lock"))],
     lambda h, root: attempt(lambda: h.create_exclusive("/srv/lock", b"x\n"))),
    ("makedirs through a link via volumes/", [("/srv/a", via_volumes("dir"))],
     lambda h, root: attempt(lambda: h.makedirs("/srv/a/made/here"))),
    ("copy_file into a relative link", [("/srv/a", relative("dir"))],
     lambda h, root: attempt(lambda: h.copy_file("/etc/hostname", "/srv/a/hostname"))),
    ("remove through a parent linked out", [("/srv/a", absolute())],
     lambda h, root: attempt(lambda: h.remove("/srv/a/canary"))),
    ("chroot: target write_atomic on /etc/hostname linked out", [("/etc/hostname", absolute("etc/hostname"))],
     lambda h, root: attempt(lambda: ChrootHost(root).write_atomic("/etc/hostname", b"x\n"))),
    ("chroot: target write_atomic through /etc/pacman.d climbing", [("/etc/pacman.d", climbing("dir"))],
     lambda h, root: attempt(lambda: ChrootHost(root).write_atomic("/etc/pacman.d/mirrorlist", b"x\n"))),
]


def _run_all(*argvs):
    return lambda h, root: [run(h, *argv) for argv in argvs]


RSYNC = ("rsync", "-aAXH", "--numeric-ids", "/srv/src/", "/srv/dst/")
FILE_PROGRAMS = [  # links in the destination of the simulated programs; /srv/src holds sub/f, passwd and new
    ("rsync: a folder linked out in the destination", [("/srv/dst/sub", absolute("dir"))], _run_all(RSYNC)),
    ("rsync: a file linked out in the destination", [("/srv/dst/passwd", absolute("etc/passwd"))], _run_all(RSYNC)),
    ("rsync: a relative link in the destination", [("/srv/dst/sub", relative("dir"))], _run_all(RSYNC)),
    ("rsync: a dangling link in the destination", [("/srv/dst/new", absolute("new-file"))], _run_all(RSYNC)),
    ("rsync: a link to a link out in the destination", [("/srv/dst/sub", absolute("mnt")),
                                                        ("/srv/dst/mnt", climbing("dir"))], _run_all(RSYNC)),
    ("rsync: a destination link via volumes/", [("/srv/dst/sub", via_volumes("dir"))], _run_all(RSYNC)),
    ("rsync: a destination link like a mount's", [("/srv/dst/sub", like_a_mount)], _run_all(RSYNC)),
    ("rsync: source links out copied, then written through",
     [("/srv/src/etc", absolute("etc")), ("/srv/src/boot", climbing("boot"))],
     _run_all(RSYNC, ("cp", "/etc/hostname", "/srv/dst/etc/hostname"),
              ("install", "-D", "-m", "0644", "/etc/hostname", "/srv/dst/boot/x/vmlinuz-linux"))),
    ("cp onto a destination linked out", [("/srv/dst/h", absolute("canary"))],
     _run_all(("cp", "/etc/hostname", "/srv/dst/h"))),
    ("install -D through a parent linked out", [("/srv/x", absolute("dir"))],
     _run_all(("install", "-D", "-m", "0644", "/etc/hostname", "/srv/x/y/z"))),
    ("mkdir -p through a climbing link", [("/srv/x", climbing("dir"))], _run_all(("mkdir", "-p", "/srv/x/new"))),
    ("ln -sf in a folder linked out", [("/srv/x", absolute("dir"))],
     _run_all(("ln", "-sf", "/etc/hostname", "/srv/x/l"))),
    ("mv into a relative link", [("/srv/x", relative("dir"))], _run_all(("mv", "/srv/src/passwd", "/srv/x/"))),
    ("truncate through a parent via volumes/", [("/srv/x", via_volumes("dir"))],
     _run_all(("truncate", "-s", "1M", "/srv/x/g.img"))),
]


def _check(root: str, case: str, links, action, tally) -> list[str]:
    """Put the links, run action, and return what changed outside the root (each change an escape), and the error
    when the action broke on the links (a refusal is fine; a crash fails the test too)."""
    outside_of(root)
    for path, link in links:
        put(root, path, link)
    before, crash = snapshot(root), []
    with open_host(f"sample:{root}") as host:
        try:
            action(host, root)
        except Exception as e:  # reported with the escapes, so that every case's escapes show
            crash = [f"{case}: crashed: {type(e).__name__}: {e}"]
    found = [f"{case}: {c}" for c in changes(before, snapshot(root))]
    tally["hostile links"] += 1
    tally["escapes"] += len(found)
    return found + crash


@pytest.fixture(scope="module")
def with_guest(template, scratch):
    """A fresh sample with a guest tree made by pacstrap in GUEST and the rsync source /srv/src."""
    root = samples.copy_host(template("bios-grub2", "fresh"), os.path.join(scratch, "links", "base", "root"))
    with open_host(f"sample:{root}") as host:
        for argv in (("mkdir", "-p", GUEST, "/srv/p", "/srv/src/sub", "/srv/dst"), ("pacstrap", "-K", GUEST, *PACKAGES),
                     ("cp", f"{GUEST}/etc/passwd", "/srv/src/passwd"), ("cp", "/etc/hostname", "/srv/src/sub/f"),
                     ("cp", "/etc/hostname", "/srv/src/new")):
            assert run(host, *argv).ok, argv
    return root


@pytest.mark.parametrize("group", ["chroot view and the hosts' writes", "simulated file programs"])
def test_hostile_links_write_nothing_outside_the_sample(group, with_guest, scratch, tally):
    cases = CHROOT_VIEW + HOST_FILES if group.startswith("chroot") else FILE_PROGRAMS
    escapes = []
    for n, (case, links, action) in enumerate(cases):
        root = samples.copy_host(with_guest, os.path.join(scratch, "links", group[:6], str(n), "root"))
        escapes += _check(root, case, links, action, tally)
    assert not escapes, "\n".join(escapes)


GUEST_PARAMS = {"name": "web", "type": "pv", "bootstrap": "copy", "copy_from": TEMPLATE, "ssh_key": samples.KEY,
                "root_password_hash_env": samples.HASH_ENV}
MARKER = "var/lib/xenbook/guests/web.bootstrapped"
DOMU = [  # links in the guest's copy_from template (or beside the guest's mount point)
    ("template /etc/shadow via volumes/", [(f"{TEMPLATE}/etc/shadow", via_volumes("etc/shadow"))]),
    ("template dangling /etc/shadow climbing via volumes/", [(f"{TEMPLATE}/etc/shadow", via_volumes("x", True))]),
    ("template /boot absolute", [(f"{TEMPLATE}/boot", absolute("boot"))]),
    ("template /boot like a mount's link", [(f"{TEMPLATE}/boot", like_a_mount)]),
    ("template /etc/mkinitcpio.conf.d climbing", [(f"{TEMPLATE}/etc/mkinitcpio.conf.d", climbing("dir"))]),
    ("template /etc/systemd/system climbing via volumes/",
     [(f"{TEMPLATE}/etc/systemd/system", via_volumes("dir", up=True))]),
    ("template /etc/resolv.conf on a canary", [(f"{TEMPLATE}/etc/resolv.conf", absolute("canary"))]),
    ("template /root/.ssh linked out", [(f"{TEMPLATE}/root/.ssh", relative("dir"))]),
    ("template dangling /etc/fstab", [(f"{TEMPLATE}/etc/fstab", absolute("new-fstab"))]),
    ("the guests' mount folder linked out", [("/var/lib/xenbook/mnt", absolute("mnt"))]),
]


def _bootstrap(h, root):
    samples.apply(root, {"guests": [GUEST_PARAMS]}, ["domu"])


def _bootstrap_again(h, root):
    """A second bootstrap onto the disk the first one left (marker deleted): the template's /srv/data is now a
    folder, the disk's still the link the first copy made."""
    _bootstrap(h, root)
    data = os.path.join(root, TEMPLATE.lstrip("/"), "srv/data")
    os.unlink(data)
    os.makedirs(data)
    with open(os.path.join(data, "file"), "wb") as f:
        f.write(b"data\n")
    os.unlink(os.path.join(root, MARKER))
    run(h, "xl", "destroy", "web")
    _bootstrap(h, root)


@pytest.fixture(scope="module")
def with_template(template, scratch):
    """A sample running Xen with a template system (pacstrap) in TEMPLATE."""
    root = samples.copy_host(template("bios-grub2", "xen"), os.path.join(scratch, "links", "xen", "root"))
    with open_host(f"sample:{root}") as host:
        for argv in (("mkdir", "-p", TEMPLATE), ("pacstrap", "-K", TEMPLATE, *PACKAGES)):
            assert run(host, *argv).ok, argv
    return root


def test_hostile_links_in_a_guests_copy_from_template(with_template, scratch, tally):
    cases = [(c, links, _bootstrap) for c, links in DOMU] + [
        ("second bootstrap: the disk's /srv/data linked out, the template's a folder",
         [(f"{TEMPLATE}/srv/data", absolute("dir"))], _bootstrap_again)]
    escapes = []
    for n, (case, links, action) in enumerate(cases):
        root = samples.copy_host(with_template, os.path.join(scratch, "links", "domu", str(n), "root"))
        escapes += _check(root, case, links, action, tally)
    assert not escapes, "\n".join(escapes)


@pytest.mark.parametrize("operation", ["read", "append", "create", "backup"])
def test_a_link_swapped_in_after_the_path_was_resolved_is_not_followed(operation, tmp_path, tally):
    """RootedHost resolves a path inside its root, then opens it with O_NOFOLLOW: a link put there in between (a
    race with another program) is refused, not followed out of the root; a backup never writes through a link."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    canary = outside / "canary"
    canary.write_bytes(b"canary\n")
    (root / "etc" / "hostname").write_bytes(b"inside\n")
    host = ChrootHost(str(root))
    swapped = root / "etc" / "swapped"
    swapped.symlink_to(canary)
    resolve = host.real
    host.real = lambda path: str(swapped) if path == "/etc/swapped" else resolve(path)  # resolved before the swap
    if operation == "read":
        with pytest.raises(HostError, match="became a link"):
            host.read_bytes("/etc/swapped")
    elif operation == "append":
        with pytest.raises(HostError, match="became a link"):
            host.append("/etc/swapped", b"written\n")
    elif operation == "create":  # O_EXCL: a link there, whatever it names, means the file exists
        assert host.create_exclusive("/etc/swapped", b"written\n") is False
    else:
        (root / "backup").mkdir()
        (root / "backup" / "hostname").symlink_to(canary)
        host.copy_file("/etc/hostname", "/backup/hostname")
        backup = root / "backup" / "hostname"
        assert backup.read_bytes() == b"inside\n" and not backup.is_symlink()
    tally["hostile links"] += 1
    assert canary.read_bytes() == b"canary\n", "written through the link, outside the root"

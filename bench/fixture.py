"""Fixture trees and the desired state every tool is given: the runbook's file edits, and N marker-block edits.

A spec is a list of edits, paths relative to the fixture root:
  {"path": ..., "block": ID, "body": TEXT}        a '# BEGIN xenbook ID' ... '# END xenbook ID' block appended
  {"path": ..., "content": TEXT, "mode": "0644"}  a whole file
The runbook spec is not written by hand: it is what xenbook's own steps plan on a fresh fixture, so the other tools
are asked for exactly xenbook's bytes."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
GUEST = "dom01"
GUEST_MOUNT = f"/var/lib/xenbook/mnt/{GUEST}"
GUEST_FILES = ("/etc/fstab", "/etc/hostname", "/etc/mkinitcpio.conf.d/xenbook-xen.conf",
               "/etc/systemd/network/20-xen-vif.network")
BLOCKS = {"/etc/default/grub": "boot", "/etc/grub.d/40_custom": "xen-entry", "/etc/xen/xl.conf": "dom0"}
UPLINK = "enp1s0"
# what findmnt -J prints on the fixture machine: / and a separate /boot, both ext4
FINDMNT = ('{"filesystems": [{"target": "/", "source": "/dev/sda3", "fstype": "ext4", '
           '"uuid": "3f1a9c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"}, {"target": "/boot", "source": "/dev/sda1", '
           '"fstype": "ext4", "uuid": "8d2e4f6a-0b1c-4d3e-8f5a-6b7c8d9e0f1a"}]}')
PACSTRAP_FSTAB = ("# Static information about the filesystems.\n# See fstab(5) for details.\n\n"
                  "# <file system> <dir> <type> <options> <dump> <pass>\n")
# what `ip -j -d link show` prints there: the loopback and the uplink, a plain Ethernet NIC
IP_LINK = ('[{"ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536, '
           '"link_type": "loopback", "address": "00:00:00:00:00:00"}, {"ifindex": 2, "ifname": "enp1s0", '
           '"flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "mtu": 1500, "link_type": "ether", '
           '"address": "52:54:00:12:34:56"}]')
CANNED = {("findmnt",): FINDMNT, ("ip", "-j", "-d", "link", "show"): IP_LINK}
SCALE_FILE = "# sample config\nkey1 = a\nkey2 = b\n"


def canned(argv) -> str | None:
    """What the fixture machine prints for argv (findmnt, whatever its options, and the link table); None for any
    other command, which a fixture host does not run."""
    argv = tuple(argv)
    return CANNED.get(argv[:1]) if argv[:1] == ("findmnt",) else CANNED.get(argv)


def _write(root: Path, path: str, data: str | bytes, mode: int = 0o644) -> None:
    real = root / path.lstrip("/")
    real.parent.mkdir(parents=True, exist_ok=True)
    real.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(real, mode)


def sample_file(name: str) -> bytes:
    """A file xenbook's sample host ships as a fresh Arch install has it (grub.default, xl.conf, ...)."""
    return (resources.files("xenbook_sample.files") / name).read_bytes()


def runbook_tree(root: Path) -> Path:
    """A fresh Arch host's files the runbook edits: GRUB, xl.conf, networkd, /boot, a freshly pacstrapped guest."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    _write(root, "/etc/default/grub", sample_file("grub.default"))
    _write(root, "/etc/grub.d/40_custom", sample_file("grub.d/40_custom"), 0o755)
    _write(root, "/etc/xen/xl.conf", sample_file("xl.conf"))
    _write(root, "/etc/systemd/network/20-wired.network", f"[Match]\nName={UPLINK}\n\n[Network]\nDHCP=yes\n")
    _write(root, f"/sys/class/net/{UPLINK}/address", "52:54:00:12:34:56\n")
    for name in ("vmlinuz-linux", "initramfs-linux.img", "intel-ucode.img", "xen.gz"):
        _write(root, f"/boot/{name}", b"\0" * 64)
    _write(root, f"{GUEST_MOUNT}/etc/fstab", PACSTRAP_FSTAB)
    for folder in ("/etc/mkinitcpio.conf.d", "/etc/systemd/network"):
        (root / f"{GUEST_MOUNT}{folder}".lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


def runbook_params():
    """examples/sample-host.yaml with the uplink named (the fixture has no routing table to ask)."""
    from xenbook.engine.params import RunbookParams, build
    data = yaml.safe_load((REPO / "examples" / "sample-host.yaml").read_text())
    data.setdefault("dom0", {})["uplink"] = UPLINK
    data["dom0"]["network"] = "systemd-networkd"
    return build(RunbookParams, data)


def runbook_spec(root: Path) -> list[dict]:
    """The runbook's edits as xenbook plans them on the fresh fixture at root (which must be fresh)."""
    from xenbook.core.actions import WriteFile
    from xenbook.edits import blocks

    from xenbook_edits import FixtureHost, runbook_steps  # bench/ is on sys.path
    host = FixtureHost(str(root))
    spec = []
    for step in runbook_steps(runbook_params()):
        plan = step.plan(host)
        if plan.failed:
            raise SystemExit(f"xenbook cannot plan {step.name} on the fixture: {plan.reason}")
        for action in plan.actions:
            if not isinstance(action, WriteFile):
                raise SystemExit(f"{step.name} plans more than file writes: {action.describe()}")
            text = action.new.decode()
            if action.path in BLOCKS:
                spec.append({"path": action.path, "block": BLOCKS[action.path],
                             "body": blocks.get_block(text, BLOCKS[action.path])})
            else:
                spec.append({"path": action.path, "content": text, "mode": f"{action.mode or 0o644:04o}"})
    return spec


def scale_tree(root: Path, n: int) -> list[dict]:
    """n config files, and the spec that gives each a two-line marker block."""
    if root.exists():
        shutil.rmtree(root)
    spec = []
    for i in range(n):
        path = f"/etc/scale/file-{i:04d}.conf"
        _write(root, path, SCALE_FILE)
        spec.append({"path": path, "block": "scale", "body": f"managed = yes\nindex = {i}\n"})
    return spec


def copy_tree(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def snapshot(root: Path, spec: list[dict]) -> dict[str, bytes | None]:
    """The bytes of every file the spec names (None when missing)."""
    out = {}
    for edit in spec:
        real = root / edit["path"].lstrip("/")
        out[edit["path"]] = real.read_bytes() if real.exists() else None
    return out


def tree_digest(root: Path) -> str:
    """A digest of every path, mode and content under root: a check must leave it unchanged."""
    import hashlib
    h = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            p = Path(folder) / name
            h.update(f"{p.relative_to(root)} {p.stat().st_mode:o}\n".encode())
            h.update(p.read_bytes())
    return h.hexdigest()

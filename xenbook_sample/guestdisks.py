"""What the sample's running guests do to their own disks, which dom0 only sees through the block device: an
installer booted from an ISO partitions the disk, pacman -Syu inside a guest replaces its kernel and initramfs.

Tests call these to model the guest's side; nothing in dom0 runs them."""

from __future__ import annotations

import os
import shutil
import time
import uuid

from xenbook_sample.storage import VOLUMES, stand_in, volume_key
from xenbook_sample.xl import find


def _running_disk(host, name: str) -> tuple[dict, str]:
    """(state, the volumes key of the running guest name's first disk); ValueError when it does not run."""
    state = host.load_state()
    dom = find(state, name)
    if dom is None or not dom.get("domid"):
        raise ValueError(f"the sample's guest {name} is not running")
    return state, volume_key(state, dom["disks"][0]["target"])


def installer_partitions(host, name: str, pttype: str = "gpt") -> str:
    """The installer in the running guest name wrote a partition table over its whole disk; returns the disk."""
    state, key = _running_disk(host, name)
    vols = state.setdefault("volumes", {})
    old = vols.get(key, {})
    if old.get("id"):
        shutil.rmtree(host.real(f"{VOLUMES}/{old['id']}"), ignore_errors=True)
    ptuuid = str(uuid.uuid4()) if pttype == "gpt" else uuid.uuid4().hex[:8]
    vols[key] = {k: v for k, v in old.items() if k in ("size", "format")} | {"pttype": pttype, "ptuuid": ptuuid}
    host.save_state(state)
    return key


def kernel_upgraded(host, name: str, release: str) -> None:
    """pacman -Syu in the running guest name installed Linux release: new /boot files, its modules only."""
    state, key = _running_disk(host, name)
    root = f"{VOLUMES}/{state['volumes'][key]['id']}"
    for old in host.listdir(f"{root}/usr/lib/modules") or []:
        shutil.rmtree(host.real(f"{root}/usr/lib/modules/{old}"), ignore_errors=True)
    host.makedirs(f"{root}/usr/lib/modules/{release}")
    host.write_atomic(f"{root}/usr/lib/modules/{release}/pkgbase", b"linux\n", mode=0o644)
    for name, text, mode in (("vmlinuz-linux", f"Linux {release} kernel image", 0o644),
                             ("initramfs-linux.img", f"initramfs for Linux {release}", 0o600)):
        path = f"{root}/boot/{name}"
        before = host.stat(path)
        previous = os.stat(host.real(path)).st_mtime if before is not None else 0
        host.write_atomic(path, stand_in(text), mode=mode)
        # an upgrade comes minutes after the files it replaces, never within the same second of the clock
        later = max(time.time(), previous + 60)
        os.utime(host.real(path), (later, later))

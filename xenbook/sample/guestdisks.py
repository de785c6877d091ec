"""What the sample's running guests do to their own disks, which dom0 only sees through the block device: an
installer booted from an ISO partitions the disk.

Tests call these to model the guest's side; nothing in dom0 runs them."""

from __future__ import annotations

import shutil
import uuid

from .storage import VOLUMES, volume_key
from .xl import find


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


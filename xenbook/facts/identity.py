"""The machine's identity: systemd's /etc/machine-id (machine-id(5)), which tells hosts apart where names repeat."""

from __future__ import annotations

import re

from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host

MACHINE_ID = "/etc/machine-id"
_ID = re.compile(r"^[0-9a-f]{32}$")


def machine_id(host: Host) -> str:
    """The host's machine ID: 32 lowercase hex characters on one line (machine-id(5)); a chroot target reads the
    chroot's own file. Missing, empty ("uninitialized") or malformed: PreconditionFailed naming the file and the fix."""
    text = host.read_text(MACHINE_ID)
    value = (text or "").strip()
    if _ID.match(value):
        return value
    found = "is missing" if text is None else "is empty" if not value else \
        f"holds {value[:40]!r}, not 32 lowercase hex characters"
    raise PreconditionFailed(f"{MACHINE_ID} {found}: xenbook derives guest MACs and filesystem UUIDs from it",
                             f"run systemd-machine-id-setup on the host (or give the guest's mac), then run again")

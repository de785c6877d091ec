"""The machine's identity: systemd's /etc/machine-id (machine-id(5)), which tells hosts apart where names repeat."""

from __future__ import annotations

import re

from xenbook.core.errors import PreconditionFailed
from xenbook.core.host import Host

MACHINE_ID = "/etc/machine-id"
_ID = re.compile(r"^[0-9a-f]{32}$")


def machine_id(host: Host) -> str:
    """The host's machine ID: 32 lowercase hex characters on one line (machine-id(5)); a chroot target reads the
    chroot's own file. Missing, empty, "uninitialized" (first boot), all zeros (which machine-id(5) forbids) or
    malformed: PreconditionFailed naming the file and the fix. Its content is never shown: machine-id(5) asks that
    it be kept confidential (the MACs and UUIDs derived from it are one-way hashes)."""
    text = host.read_text(MACHINE_ID)
    value = (text or "").strip()
    if _ID.match(value) and value != "0" * 32:
        return value
    found = ("is missing" if text is None else "is empty" if not value else
             "says 'uninitialized' (the machine has not finished its first boot)" if value == "uninitialized" else
             "is all zeros, which machine-id(5) forbids" if value == "0" * 32 else
             "is not 32 lowercase hex characters on one line")
    raise PreconditionFailed(f"{MACHINE_ID} {found}: xenbook derives guest MACs and filesystem UUIDs from it",
                             "run systemd-machine-id-setup on the host (it writes a new random ID there), then run "
                             "again")

"""Real failures the e2e tier produces, kept in tests/recorded/doctor/qemu/ as evidence for xenbook doctor's catalogue.

Each boot that fails on purpose (or records failures inside one dom0) hands its text here: the committed copy must
hold the same signature as the fresh output, so a recording cannot drift from what the tools print. Run the tier
with XENBOOK_E2E_RECORD=1 to write the copies anew (their README says how each was produced).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "recorded" / "doctor" / "qemu"
RECORD = os.environ.get("XENBOOK_E2E_RECORD") == "1"


def clean(text: str) -> str:
    """TEXT as kept: the serial console's carriage returns gone, lines stripped at the end, a final newline."""
    return "\n".join(line.rstrip() for line in text.replace("\r", "").strip("\n").splitlines()) + "\n"


def between(console: str, name: str) -> str:
    """What dom0-init.sh printed between `XENBOOK-RECORD-BEGIN NAME: ...` and its END line, both kept."""
    start = console.index(f"XENBOOK-RECORD-BEGIN {name}:")
    end = console.index(f"XENBOOK-RECORD-END {name} ", start)
    return console[start:console.index("\n", end)]


def keep(name: str, text: str, signature: str) -> Path:
    """Check SIGNATURE (a regex) in TEXT and in the committed recording NAME.log (written first with RECORD)."""
    text = clean(text)
    assert re.search(signature, text, re.M), f"{name}: {signature!r} not in the fresh output:\n{text[-3000:]}"
    path = FOLDER / f"{name}.log"
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run the e2e tier with XENBOOK_E2E_RECORD=1"
    assert re.search(signature, path.read_text(), re.M), f"{path} no longer holds {signature!r}"
    return path

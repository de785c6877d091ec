"""The doctor section's part of the host report: one row per area of the dry run, its findings with cause,
evidence and fix (`xenbook doctor` shows each finding's source too)."""

from __future__ import annotations

from typing import Any

from xenbook.core.document import Part, Table
from xenbook.core.host import Host
from xenbook.safety.redact import redact


def doctor_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    rows = [[s.name, s.verdict or s.status, redact(s.reason), s.remedy if s.verdict != "ok" else ""]
            for s in checked.steps if s.section == "doctor"]
    if not rows:
        return []
    return [Part("Doctor: known problems, their causes and fixes (read-only, now)",
                 [Table(["area", "verdict", "what the doctor found", "what to do"], rows)])]

"""The preflight section's part of the host report: the readiness checks of a dry run, and the facts they found."""

from __future__ import annotations

from typing import Any

from xenbook.core.document import Block, Part, Table
from xenbook.core.host import Host
from xenbook.safety.redact import redact


def flatten(value: object, prefix: str = "") -> list[tuple[str, str]]:
    """Nested facts as (dotted.key, text) rows; lists become comma lists."""
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(value, (list, tuple)):
        return [(prefix, ", ".join(str(v) for v in value))]
    return [(prefix, "" if value is None else str(value))]


def preflight_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    rows = [[s.name, s.value, s.verdict or s.status, s.reason + (f" (what to do: {s.remedy})" if s.remedy and
                                                                 s.verdict != "ok" else "")]
            for s in checked.steps if s.section == "preflight"]
    facts = [[key, redact(value)] for key, value in flatten(checked.facts)]
    blocks: list[Block] = [Table(["check", "found", "verdict", "detail"], rows), Table(["fact", "value"], facts)]
    return [Part("Preflight: readiness checks (read-only, now)", blocks)]

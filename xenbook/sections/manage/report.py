"""The manage section's part of the host report: the dashboard's snapshot charts it saved on the host."""

from __future__ import annotations

from typing import Any

from xenbook.core.document import Image, Part
from xenbook.core.host import Host
from xenbook.sections.manage.steps import DASHBOARD_DIR


def dashboard_charts(host: Host) -> list[Image]:
    """The snapshot charts in DASHBOARD_DIR: NAME.svg or NAME.png, captioned by NAME.txt when present."""
    charts = []
    for name in host.listdir(DASHBOARD_DIR) or []:
        stem, _, ext = name.rpartition(".")
        mime = {"svg": "image/svg+xml", "png": "image/png"}.get(ext)
        data = host.read_bytes(f"{DASHBOARD_DIR}/{name}") if mime else None
        if data:
            caption = (host.read_text(f"{DASHBOARD_DIR}/{stem}.txt") or stem).strip()
            charts.append(Image(caption, mime, data))
    return charts


def dashboard_parts(host: Host, params: Any, checked: Any) -> list[Part]:
    return [Part("Dashboard snapshots", list(dashboard_charts(host)) or
                 ["No dashboard snapshot on the host (the manage section saves them)."])]

"""The first line of every guest file xenbook writes, and whether a guest config is xenbook's."""

from __future__ import annotations

from xenbook.core.renames import aliases

# A release that rewords it registers the old one in core/renames.py, so that configs earlier releases wrote stay
# xenbook's (GuestNameFree) and are rewritten.
MANAGED = "# Managed by xenbook: change the guest's parameters in the runbook, not this file.\n"


def xenbook_config(text: str | None) -> bool:
    """True when text (a /etc/xen/NAME.cfg) is one xenbook wrote, under today's header or an earlier release's."""
    return text is not None and any(text.startswith(h) for h in (MANAGED, *aliases("header", MANAGED)))

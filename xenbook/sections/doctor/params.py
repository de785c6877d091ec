"""The doctor section's parameters: how much of the logs to read, and whether a finding fails the run."""

from __future__ import annotations

from pydantic import Field

from xenbook.core.model import Model


class DoctorParams(Model):
    """What the doctor reads, and what a finding does to the run."""

    journal_lines: int = Field(2000, ge=10, le=100_000,
                               description="newest lines read of each boot's journal (journalctl -n)")
    fail_on_findings: bool = Field(False, description="fail the run when the doctor finds a known problem")


# The form's layout (xenbook.ui reads it): groups of fields and labels for people.
FORM = {
    "groups": {"What the doctor reads": ["journal_lines", "fail_on_findings"]},
    "labels": {"journal_lines": "journal lines per boot", "fail_on_findings": "fail on findings"},
}

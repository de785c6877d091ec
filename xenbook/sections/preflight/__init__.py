"""Preflight: can this machine run Xen, and what is missing? Read-only readiness checks."""

from xenbook.core.section import Section
from xenbook.sections.preflight.params import PreflightParams
from xenbook.sections.preflight.report import preflight_parts
from xenbook.sections.preflight.steps import preflight_steps

SECTION = Section("preflight", 0, "Preflight: can this machine run Xen, and what is missing?", "00-preflight.ipynb",
                  preflight_steps, "preflight", PreflightParams, report=preflight_parts,
                  read_only=True)

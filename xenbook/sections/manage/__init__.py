"""Manage: the domains, live CPU and memory, per-domain actions, xl or libvirt."""

from xenbook.core.section import Section
from xenbook.sections.manage.params import ManageParams
from xenbook.sections.manage.report import dashboard_parts
from xenbook.sections.manage.steps import manage_steps

SECTION = Section("manage", 60, "Manage: the domains, live CPU and memory, actions, xl or libvirt", "60-manage.ipynb",
                  manage_steps, "manage", ManageParams, report=dashboard_parts)

"""Arch as a Xen guest: frontends, the hvc0 console, a guest agent, PV boot, and XAPI's switch to PV."""

from xenbook.core.section import Section
from xenbook.sections.pv_guest.params import PvGuestParams
from xenbook.sections.pv_guest.steps import pv_guest_steps

SECTION = Section("pv-guest", 50, "Arch as a Xen guest: frontends, the hvc0 console, an agent, PV boot",
                  "50-pv-guest.ipynb", pv_guest_steps, "pv_guest", PvGuestParams)

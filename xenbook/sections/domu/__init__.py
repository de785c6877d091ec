"""domU: a guest's storage made safely, Arch bootstrapped into it, its xl config, started."""

from xenbook.core.section import Section
from xenbook.sections.domu.checks import check_guests
from xenbook.sections.domu.params import GuestParams, unique_guests
from xenbook.sections.domu.report import guest_parts
from xenbook.sections.domu.steps import domu_steps

SECTION = Section("domu", 40, "A guest: storage made safely, Arch bootstrapped, xl config, started", "40-domu.ipynb",
                  domu_steps, "guests", GuestParams, many=True, params_help="the guests of the domu section",
                  check=check_guests, check_items=unique_guests, report=guest_parts)

"""dom0: Xen's services, fixed memory and CPUs, the guests' bridge, and the reboot into Xen."""

from xenbook.core.section import Section
from xenbook.sections.dom0.params import Dom0Params
from xenbook.sections.dom0.report import dom0_parts
from xenbook.sections.dom0.steps import check_cpus_left, dom0_steps

SECTION = Section("dom0", 30, "dom0: Xen's services, fixed memory and CPUs, the guests' bridge, the reboot",
                  "30-dom0.ipynb", dom0_steps, "dom0", Dom0Params, check=check_cpus_left, report=dom0_parts)

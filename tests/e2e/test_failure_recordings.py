"""Failures of a Xen install, produced for real inside one dom0 boot and kept for xenbook doctor's catalogue: the
GRUB entry xenbook wrote, with `xenbook.e2e=failures` added to dom0's options (the only change) so dom0-init.sh
tries what must fail, on a CPU without nested paging (`-cpu qemu64,+svm`, no +npt)."""

from __future__ import annotations

import pytest

from tests.e2e import iso, recordings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# name -> the signature its output must hold (Xen 4.17's xl and libxl, and its hotplug scripts)
SIGNATURES = {
    "xl-before-xen-devices": r"Could not obtain handle on privileged command interface(.|\n)*cannot init xl context",
    "xl-without-xenstored": r"^Terminated\nXENBOOK-RECORD-END xl-without-xenstored rc=143$",  # hangs: timeout 15
    "pvh-without-hap": r"neither hap nor shadow paging available",
    "missing-bridge": r"vif-bridge online .* exited with error status 1\n.*Could not find bridge device xenbr0",
    "out-of-memory": r"xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory",
    "affinity-empty": r"vcpu hard affinity map is empty",
}


@pytest.fixture(scope="module")
def failures_boot(boot_entry, xen_images):
    kernel = [path for command, path in iso.loaded_paths(xen_images.entry) if command == "module2"][0]
    line = next(ln for ln in xen_images.entry.splitlines() if ln.split()[:2] == ["module2", kernel])
    entry = xen_images.entry.replace(line, line + " xenbook.e2e=failures")
    return boot_entry("failures", entry, cpu="qemu64,+svm")


def test_the_failures_boot_gets_through_every_case(failures_boot):
    failures_boot.assert_reached(("grub", "hypervisor", "xen", "dom0", "xenstored", "xl-info", "xl-parse",
                                  "failures"))


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_each_failure_is_recorded_as_xen_printed_it(failures_boot, name):
    assert f"XENBOOK-RECORD-END {name} " in failures_boot.console, failures_boot.explain()
    recordings.keep(name, recordings.between(failures_boot.console, name), SIGNATURES[name])

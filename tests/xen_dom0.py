"""A sample host through install, boot and dom0, rebooted into Xen: the dom0 the doctor and dashboard tests start
from."""

from __future__ import annotations

from xenbook.engine.params import RunbookParams
from xenbook.engine.registry import run_sections
from xenbook_sample import SampleHost, init_sample
from xenbook_sample.boot import reboot


def xen_dom0(root: str) -> SampleHost:
    host = init_sample(root)
    report = run_sections(host, RunbookParams(target=host.target), ["install", "boot", "dom0"], dry_run=False)
    assert not report.failed, report.summary()
    assert reboot(host)["xen"]
    return host

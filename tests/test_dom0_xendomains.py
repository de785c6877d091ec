"""xendomains at host shutdown: guests shut down by default (XENDOMAINS_SAVE="" in /etc/conf.d/xendomains), saved
to /var/lib/xen/save and restored at boot only when dom0.xendomains_save asks, on the sample host end to end."""

import os

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.commands import Command
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import run_sections
from xenbook.facts import domains
from xenbook.sections.dom0.steps import dom0_steps
from xenbook_sample import init_sample
from xenbook_sample.boot import reboot

GUEST = ('name = "dom01"\ntype = "pvh"\nmemory = 1024\nvcpus = 2\nkernel = "/var/lib/xen/boot/dom01/vmlinuz-linux"\n'
         "disk = [ 'format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/dom01.img' ]\n")


def xen_host(tmp_path, **dom0):
    """A sample host after install, boot and dom0 (xendomains on), rebooted into Xen, with dom01 running."""
    host = init_sample(str(tmp_path / "h"))
    params = build(RunbookParams, {"target": host.target, "dom0": {"xendomains": True, **dom0}})
    report = run_sections(host, params, ["install", "boot", "dom0"], dry_run=False)
    assert not report.failed, report.summary()
    assert reboot(host)["xen"]
    for path in ("/var/lib/xen/boot/dom01/vmlinuz-linux", "/var/lib/xen/images/dom01.img"):
        host.makedirs(os.path.dirname(path))
        host.write_atomic(path, b"SIMULATED guest file\n")
    host.write_atomic("/etc/xen/dom01.cfg", GUEST.encode())
    assert host.run(Command.of("xl", "create", "/etc/xen/dom01.cfg")).ok
    return host, params


def running(host) -> list[str]:
    return [d["name"] for d in domains.parse_xl_list(host.run(Command.of("xl", "list")).stdout)]


def test_guests_are_shut_down_at_host_shutdown_by_default(tmp_path):
    host, params = xen_host(tmp_path)
    text = host.read_text("/etc/conf.d/xendomains")
    assert text.index("XENDOMAINS_SAVE=/var/lib/xen/save") < text.index('XENDOMAINS_SAVE=""\n# END xenbook dom0')
    again = run_sections(host, params, ["dom0"], dry_run=False)
    step = next(s for s in again.steps if s.name == "XendomainsSettings")
    assert step.status == "ok" and "guests are shut down at host shutdown, not saved" in step.reason
    result = reboot(host)
    assert result["saved"] == [] and running(host) == ["Domain-0"]
    assert not host.listdir("/var/lib/xen/save")


def test_xendomains_save_keeps_xens_saving(tmp_path):
    host, _ = xen_host(tmp_path, xendomains_save=True)
    assert "BEGIN xenbook" not in host.read_text("/etc/conf.d/xendomains")
    result = reboot(host)
    assert result["saved"] == ["dom01"] and running(host) == ["Domain-0", "dom01"]


@pytest.mark.parametrize("xendomains", [False, True])
def test_the_step_comes_with_xendomains(xendomains):
    params = build(RunbookParams, {"dom0": {"xendomains": xendomains}})
    steps = [s.name for s in dom0_steps(params, FakeHost({}))]
    assert ("XendomainsSettings" in steps) is xendomains

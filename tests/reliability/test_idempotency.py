"""Idempotency: on every sample profile, applying the runbook a second time reports every step ok and leaves every
file byte for byte as it was (content, mode and owner of every entry of the tree).

The flow is the real one: install, boot and dom0, applied twice; the simulated reboot; then every section (the
guests and their management too, when the machine came back on Xen), applied twice. A profile that is itself a Xen
guest runs the pv-guest section instead. Hypothesis draws the profile and a valid parameter set for it (boot options,
install choices, the bridge, up to two guests of every type and storage; the guest side's choices)."""

from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import samples, strategies, trees

ISO = "/var/lib/xen/isos/archlinux.iso"
_COUNTER = itertools.count()


def converges(root: str, data: dict, sections: list[str], tally) -> None:
    """A second apply reports every step ok and changes no byte, mode or owner anywhere in the tree."""
    before = trees.snapshot(root)
    report = samples.apply(root, data, sections)
    tally["idempotent runs"] += 1
    not_ok = [f"{s.section}/{s.name}: {s.status}: {s.reason[:200]}" for s in report.steps if s.status != "ok"]
    assert not not_ok, "the second apply did not report every step ok:\n  " + "\n  ".join(not_ok)
    after = trees.snapshot(root)
    assert after == before, "the second apply changed the host:\n" + trees.differences(after, before)


def applies(root: str, data: dict, sections: list[str]) -> None:
    report = samples.apply(root, data, sections)
    failed = [f"{s.section}/{s.name}: {s.reason[:300]}" for s in report.failed]
    assert not failed, "the first apply failed:\n  " + "\n  ".join(failed)


def whole_flow(root: str, profile: str, data: dict, tally) -> None:
    applies(root, data, samples.before_reboot(profile))
    converges(root, data, samples.before_reboot(profile), tally)
    if profile in samples.GUEST_PROFILES:
        return  # a guest's own reboot is its hypervisor's business
    booted = samples.reboot_host(root)
    assert booted["xen"] == data.get("boot", {}).get("make_default", True), booted["why"]
    sections = samples.after_reboot(profile, booted["xen"])
    if any(g.get("iso") for g in data.get("guests", [])):  # the host the guest's install medium is on
        os.makedirs(os.path.join(root, os.path.dirname(ISO).lstrip("/")), exist_ok=True)
        with open(os.path.join(root, ISO.lstrip("/")), "wb") as f:
            f.write(b"SIMULATED Arch Linux install medium\n")
    applies(root, data, sections)
    converges(root, data, sections, tally)


def fresh(template, scratch, profile: str) -> str:
    return samples.copy_host(template(profile, "fresh"), os.path.join(scratch, "idem", str(next(_COUNTER))))


def test_every_profile_with_its_defaults_and_a_guest(template, scratch, tally):
    for profile in samples.GUEST_PROFILES:
        whole_flow(fresh(template, scratch, profile), profile, {}, tally)
    for profile in samples.DOM0_PROFILES:
        kind = "pvh" if profile in samples.HVM_PROFILES else "pv"
        storage = "lvm" if profile in samples.LVM_PROFILES else "image"
        data = {"guests": [{"name": "dom01", "type": kind, "storage": storage, "ssh_key": samples.KEY,
                            "root_password_hash_env": samples.HASH_ENV, "autostart": True}],
                "dom0": {"xendomains": True}, "manage": {"samples": 1, "refresh_seconds": 0.5}}
        whole_flow(fresh(template, scratch, profile), profile, data, tally)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.sampled_from(samples.DOM0_PROFILES + samples.GUEST_PROFILES).flatmap(
    lambda p: strategies.runbook(p).map(lambda d: (p, d))))
def test_generated_hosts_and_parameters_converge(template, scratch, tally, case):
    profile, data = case
    whole_flow(fresh(template, scratch, profile), profile, data, tally)

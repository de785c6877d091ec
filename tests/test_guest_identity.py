"""Fleet-safe guest identity: a guest's MAC and root filesystem UUID come from the dom0's /etc/machine-id and its
name (or the mac parameter); an existing guest keeps the ones it has; a host without a machine ID is told what to do."""

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.errors import PreconditionFailed
from xenbook.edits.xlcfg import derived_mac
from xenbook.engine.params import RunbookParams, build
from xenbook.facts.identity import machine_id
from xenbook.sections.domu.identity import identified_guests
from xenbook.sections.domu.params import legacy_uuid
from xenbook.sections.domu.steps import GuestConfig, domu_steps
from xenbook_sample.host import init_sample

MID = "4c2bd8a6f1e94b0e8d3a7c5f9e2b1a60"
HEADER = "# Managed by xenbook: change the guest's parameters in the runbook, not this file.\n"


def guests(*specs):
    return build(RunbookParams, {"guests": list(specs)}).guests


def test_ten_sample_hosts_with_guest_dom01_share_no_mac_and_no_uuid(tmp_path):
    """Each sample host gets its own machine ID (as systemd-machine-id-setup makes one) and so its dom01 its own."""
    macs, uuids, ids = set(), set(), set()
    for i in range(10):
        host = init_sample(str(tmp_path / f"h{i}"))
        ids.add(machine_id(host))
        steps = domu_steps(build(RunbookParams, {"guests": [{"name": "dom01"}]}), host)
        config = next(s for s in steps if isinstance(s, GuestConfig))
        text = config.plan(host).actions[0].new.decode()
        macs.add(text.split("mac=")[1].split(",")[0])
        uuids.add(text.split("root=UUID=")[1].split(" ")[0])
        assert config.g.disk_uuid in uuids and config.g.vif_mac in macs
    assert (len(ids), len(macs), len(uuids)) == (10, 10, 10)
    assert all(m.startswith("00:16:3e:") and int(m.split(":")[3], 16) < 0x80 for m in macs)  # Xen's OUI, lower half


def test_the_mac_parameter_still_wins():
    host = FakeHost(files={"/etc/machine-id": f"{MID}\n"})
    (g,) = identified_guests(guests({"name": "dom01", "mac": "00:16:3e:00:00:01"}), host)
    assert g.vif_mac == "00:16:3e:00:00:01"


def test_an_existing_guest_keeps_its_mac_and_uuid_whatever_the_machine_id():
    """A guest an older release made (name-only derivations) shows no change after the upgrade."""
    old_mac = derived_mac("dom01")
    files = {"/etc/xen/dom01.cfg": f"{HEADER}name = \"dom01\"\nvif = [ 'mac={old_mac}, bridge=xenbr0' ]\n",
             "/var/lib/xenbook/guests/dom01.bootstrapped": f"{legacy_uuid('dom01')}\n"}
    for extra in ({}, {"/etc/machine-id": f"{MID}\n"}):  # the machine ID is not even needed to keep them
        (g,) = identified_guests(guests({"name": "dom01"}), FakeHost(files={**files, **extra}))
        assert (g.vif_mac, g.disk_uuid) == (old_mac, legacy_uuid("dom01"))


def test_a_config_not_xenbooks_gives_no_mac():
    files = {"/etc/machine-id": f"{MID}\n", "/etc/xen/dom01.cfg": "vif = [ 'mac=00:16:3e:11:22:33' ]\n"}
    (g,) = identified_guests(guests({"name": "dom01"}), FakeHost(files=files))
    assert g.vif_mac == derived_mac("dom01", MID) != "00:16:3e:11:22:33"


@pytest.mark.parametrize("content, words", [
    (None, "/etc/machine-id is missing"),
    ("", "/etc/machine-id is empty"),
    ("uninitialized\n", "/etc/machine-id says 'uninitialized'"),
    ("0" * 32 + "\n", "is all zeros"),
    ("4C2BD8A6F1E94B0E8D3A7C5F9E2B1A60\n", "not 32 lowercase hex"),
    ("4c2bd8a6-f1e9-4b0e-8d3a-7c5f9e2b1a60\n", "not 32 lowercase hex")])
def test_a_missing_or_malformed_machine_id_is_named_with_its_fix(content, words):
    host = FakeHost(files={} if content is None else {"/etc/machine-id": content})
    with pytest.raises(PreconditionFailed) as e:
        identified_guests(guests({"name": "dom01"}), host)
    assert words in str(e.value) and "systemd-machine-id-setup" in e.value.remedy
    assert "4c2bd8a6" not in str(e.value).lower()  # the ID is confidential (machine-id(5)): never shown


def test_a_guest_given_a_mac_equal_to_anothers_derived_one_is_refused():
    host = FakeHost(files={"/etc/machine-id": f"{MID}\n"})
    with pytest.raises(PreconditionFailed, match="would share the MAC"):
        identified_guests(guests({"name": "dom01"}, {"name": "dom02", "mac": derived_mac("dom01", MID)}), host)


def test_absent_guests_need_no_machine_id():
    (g,) = identified_guests(guests({"name": "dom01", "state": "absent"}), FakeHost(files={}))
    assert g.state == "absent"

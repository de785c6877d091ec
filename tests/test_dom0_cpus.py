"""dom0's pinned CPUs and the guests' vm.cpumask: values that leave guests no CPU are refused before the host is
touched (plan, apply and the notebooks' run), with the host's CPU count read where Xen reports it."""

import pytest

from tests.test_cli import tree_hashes, xenbook
from xenbook.connectors.fake import FakeHost
from xenbook.core.commands import Result
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import check_sections

PINNED = {"boot": {"dom0_max_vcpus": 2, "dom0_vcpus_pin": True}}
XL_INFO = "host : h\nxen_major : 4\nxen_minor : 21\nxen_extra : .2\nnr_cpus : {n}\ntotal_memory : 16384\n"


def cpuinfo(n: int) -> str:
    return "".join(f"processor\t: {i}\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n\n" for i in range(n))


def bare_metal(cpus: int) -> FakeHost:
    return FakeHost({"/proc/cpuinfo": cpuinfo(cpus)})


def dom0(vcpus: int, nr_cpus: int | None) -> FakeHost:
    """Running as dom0: /proc/cpuinfo lists dom0's vCPUs; xl info (when it answers) the machine's CPUs."""
    xl = Result(0, XL_INFO.format(n=nr_cpus)) if nr_cpus else Result(3, "", "xl: cannot connect to xenstored\n")
    return FakeHost({"/sys/hypervisor/type": "xen\n", "/proc/xen/capabilities": "control_d\n",
                     "/proc/cpuinfo": cpuinfo(vcpus)}, {"xl info": xl})


def check(host, data=PINNED, sections=("dom0",)):
    check_sections(host, build(RunbookParams, data), list(sections))


@pytest.mark.parametrize("host, source", [(bare_metal(2), "/proc/cpuinfo"), (bare_metal(1), "/proc/cpuinfo"),
                                          (dom0(2, 2), "xl info nr_cpus")])
def test_no_cpu_left_for_guests_is_refused(host, source):
    with pytest.raises(ParameterError) as e:
        check(host)
    text = str(e.value)
    assert "boot.dom0_max_vcpus = 2" in text and "boot.dom0_vcpus_pin" in text
    assert "leave at least one CPU for guests" in text and source in text
    assert 'vm.cpumask="all,^0-1"' in text and "nothing was changed" in text


def test_the_fix_named_fits_the_host():
    with pytest.raises(ParameterError, match="at most 2, or set boot.dom0_vcpus_pin to false"):
        check(bare_metal(3), {"boot": {"dom0_max_vcpus": 3, "dom0_vcpus_pin": True}})
    with pytest.raises(ParameterError, match="guests: set boot.dom0_vcpus_pin to false"):
        check(bare_metal(1), {"boot": {"dom0_max_vcpus": 1, "dom0_vcpus_pin": True}})


@pytest.mark.parametrize("host, data", [
    (bare_metal(3), PINNED),  # one CPU left for guests
    (bare_metal(2), {"boot": {"dom0_max_vcpus": 2, "dom0_vcpus_pin": False}}),  # no mask
    (bare_metal(2), {"boot": {"dom0_max_vcpus": None, "dom0_vcpus_pin": True}}),  # all CPUs, no mask
    (dom0(2, 8), PINNED),  # dom0 sees its own 2 vCPUs; Xen has 8 CPUs
    (dom0(2, None), PINNED),  # xl does not answer: the count is unknown, the dom0 section says why later
    (FakeHost({}), PINNED),  # no /proc/cpuinfo
])
def test_cpus_left_or_unknown_pass(host, data):
    check(host, data)


def test_only_when_the_dom0_section_runs():
    check(bare_metal(2), sections=("boot",))


def test_plan_apply_and_run_refuse_before_touching_the_host(tmp_path):
    d = tmp_path / "host"
    xenbook("sample", "init", str(d), check=0)  # 8 CPUs
    before = tree_hashes(d)
    sets = ["--set", "boot.dom0_vcpus_pin=true", "--set", "boot.dom0_max_vcpus=8"]
    for argv in (["plan", "--sections", "dom0"], ["apply", "--sections", "install,boot,dom0"],
                 ["run", "--apply", "--sections", "install,boot,dom0", "--out", str(tmp_path / "runs")]):
        proc = xenbook(*argv, "--target", f"sample:{d}", *sets)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "boot.dom0_max_vcpus = 8" in proc.stderr and "boot.dom0_vcpus_pin" in proc.stderr
        assert "this host has 8 CPUs (/proc/cpuinfo)" in proc.stderr
        assert tree_hashes(d) == before, f"{argv[0]} touched the host"
    assert not list((tmp_path / "runs").glob("*.ipynb")), "a notebook ran"


GUEST = {"name": "web", "memory": 256, "storage": "image", "bridge": "xenbr0", "ssh_key": None}


@pytest.mark.parametrize("cpus, refused", [("0,1", True), ("0-1", True), ("all,^2-7", True), ("1", True),
                                           ("0,2", False), ("2-7", False), ("all", False), ("nodes:0", False)])
def test_a_guest_on_dom0s_pinned_cpus_only_is_refused(cpus, refused):
    """xl ANDs a guest's hard affinity with vm.cpumask: a guest named only dom0's pinned CPUs gets an empty map."""
    data = {**PINNED, "guests": [GUEST | {"cpus": cpus}]}
    host = FakeHost({"/proc/cpuinfo": cpuinfo(8), "/proc/meminfo": "MemTotal: 16777216 kB\n"},
                    {"ip -j -d link show": Result(0, '[{"ifname": "xenbr0"}]')})
    if not refused:
        check(host, data, ("domu",))
        return
    with pytest.raises(ParameterError) as e:
        check(host, data, ("domu",))
    assert f"guests.0.cpus = {cpus!r}" in str(e.value) and "names only CPUs dom0 is pinned to (0 to 1" in str(e.value)

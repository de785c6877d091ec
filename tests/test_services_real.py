"""The sample host's simulated systemctl makes the links the real systemctl makes, from the same unit files."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from xenbook.core.commands import Command
from xenbook.facts import services
from xenbook_sample import init_sample
from xenbook_sample.network import SYSTEMD_UNITS
from xenbook_sample.xenfiles import SYSTEMD, UNITS

SYSTEMCTL = shutil.which("systemctl")
pytestmark = pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed on this machine")

# [Install] forms the Xen units do not use themselves: RequiredBy=, Alias=, Also= (with a unit that has none)
EXTRA = {
    "xen-test-helper.service": "[Unit]\nDescription=helper\n\n[Service]\nExecStart=/usr/bin/true\n\n"
                               "[Install]\nRequiredBy=xenstored.service\nAlias=xen-helper-alias.service\n",
    "xen-test-main.service": "[Unit]\nDescription=main\n\n[Service]\nExecStart=/usr/bin/true\n\n"
                             "[Install]\nWantedBy=multi-user.target\nAlso=xen-test-helper.service proc-xen.mount\n",
}
ENABLE = ["xenstored.service", "xenconsoled", "xen-init-dom0.service", "xen-qemu-dom0-disk-backend.service",
          "xendomains.service", "xen-watchdog.service", "xen-test-main.service", "serial-getty@hvc0.service",
          "getty@.service"]
DISABLE = ["xen-test-main.service", "xenconsoled.service", "serial-getty@hvc0.service", "xendomains"]
ASK = ["xenstored.service", "xenconsoled.service", "proc-xen.mount", "xen-watchdog.service", "xen-test-helper.service",
       "serial-getty@hvc0.service", "serial-getty@ttyS0.service", "getty@tty1.service", "getty@tty2.service",
       "xen-helper-alias.service", "systemd-networkd.service", "multi-user.target"]


def links(root) -> dict[str, str]:
    """Every symlink under root's /etc/systemd/system, as host path -> target."""
    out = {}
    for folder, dirs, files in os.walk(os.path.join(root, "etc/systemd/system")):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                out["/" + os.path.relpath(path, root)] = os.readlink(path)
    return out


def real_systemctl(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SYSTEMCTL, "--root", str(root), *args], capture_output=True, text=True, timeout=60)


def states(sample, real) -> tuple[list[str], list[str]]:
    """is-enabled of every unit in ASK from both; older systemd says "Failed to get unit file state" for not-found."""
    simulated = sample.run(Command.of("systemctl", "is-enabled", *ASK)).stdout.split()
    answers = [real_systemctl(real, "is-enabled", unit) for unit in ASK]
    return simulated, [p.stdout.strip() or ("not-found" if "No such file" in p.stderr else p.stderr) for p in answers]


def facts_agree(sample, real_states: list[str]) -> None:
    """The steps' reading of a unit (facts.services, links only, no systemctl) says what the real one says, for
    template instances (serial-getty@hvc0) too."""
    checked = [(unit, answer) for unit, answer in zip(ASK, real_states) if answer in ("enabled", "disabled")]
    assert ("serial-getty@hvc0.service", "enabled") in checked or ("serial-getty@hvc0.service", "disabled") in checked
    assert [(u, services.unit_state(sample, u).enabled) for u, _ in checked] == [(u, a == "enabled") for u, a in checked]


@pytest.fixture
def pair(tmp_path):
    """A sample host with the xen package's units, and a plain directory with the same units and links."""
    sample = init_sample(str(tmp_path / "sample"))
    for name, text in {**UNITS, **EXTRA}.items():
        sample.write_atomic(f"{SYSTEMD}/{name}", text.encode())
    real = tmp_path / "real"
    (real / SYSTEMD.lstrip("/")).mkdir(parents=True)
    for name, text in {**SYSTEMD_UNITS, **UNITS, **EXTRA}.items():
        (real / SYSTEMD.lstrip("/") / name).write_text(text)
    for link, target in links(sample.root).items():  # what a fresh install has enabled (systemd-networkd, ...)
        (real / link.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, real / link.lstrip("/"))
    return sample, real


def test_enable_and_disable_make_the_same_links(pair):
    sample, real = pair
    before = links(sample.root)
    simulated = sample.run(Command.of("systemctl", "enable", *ENABLE))
    assert simulated.ok, simulated.stderr
    proc = real_systemctl(real, "enable", *ENABLE)
    assert proc.returncode == 0, proc.stderr
    assert links(sample.root) == links(real)
    assert "/etc/systemd/system/xenstored.service.requires/xen-test-helper.service" in links(real)
    assert "/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service" in links(real)
    created = [line for line in simulated.stderr.splitlines() if line.startswith("Created symlink '")]
    assert len(created) == len(links(real)) - len(before)  # one line per new link
    assert "Created symlink '/etc/systemd/system/multi-user.target.wants/xenstored.service' \u2192 " \
           "'/usr/lib/systemd/system/xenstored.service'." in simulated.stderr

    simulated_states, real_states = states(sample, real)
    assert simulated_states == real_states
    facts_agree(sample, real_states)

    simulated = sample.run(Command.of("systemctl", "disable", *DISABLE))
    assert simulated.ok, simulated.stderr
    assert real_systemctl(real, "disable", *DISABLE).returncode == 0
    assert links(sample.root) == links(real)
    simulated_states, real_states = states(sample, real)
    assert simulated_states == real_states and "not-found" in real_states  # the alias went with its unit
    facts_agree(sample, real_states)


def test_a_missing_unit_fails_both_before_any_change(pair):
    sample, real = pair
    before = links(sample.root)
    simulated = sample.run(Command.of("systemctl", "enable", "xenstored.service", "no-such.service"))
    proc = real_systemctl(real, "enable", "xenstored.service", "no-such.service")
    assert (simulated.returncode != 0) == (proc.returncode != 0) == True  # noqa: E712
    assert "no-such.service" in simulated.stderr and "does not exist" in simulated.stderr
    assert links(sample.root) == before == links(real)


def test_the_root_option_works_on_a_folder_of_the_sample(pair, tmp_path):
    sample, real = pair
    sample.makedirs(f"/mnt/guest{SYSTEMD}")
    for name in ("serial-getty@.service", "getty.target", "systemd-networkd.service", "systemd-networkd.socket",
                 "systemd-network-generator.service", "systemd-networkd-wait-online.service"):
        sample.write_atomic(f"/mnt/guest{SYSTEMD}/{name}", SYSTEMD_UNITS[name].encode())
    guest = tmp_path / "guest"
    shutil.copytree(os.path.join(sample.root, "mnt/guest"), guest)
    units = ["serial-getty@hvc0.service", "systemd-networkd.service"]
    result = sample.run(Command.of("systemctl", "--root=/mnt/guest", "enable", *units))
    assert result.ok, result.stderr
    assert real_systemctl(guest, "enable", *units).returncode == 0
    assert links(os.path.join(sample.root, "mnt/guest")) == links(guest)
    assert "Created symlink '/mnt/guest/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service'" \
           in result.stderr

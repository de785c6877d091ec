"""The sample host's systemctl enable, disable and is-enabled: answered by this machine's systemctl run offline on
the sample tree, simulated when it is missing. The same argv goes through the simulation and the real tool on two
copies of one sample tree, and the effects (links made and removed, is-enabled's answers, exit codes) agree."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from xenbook.core.commands import Command
from xenbook.facts import services
from xenbook_sample import init_sample
from xenbook_sample.host import SampleHost
from xenbook_sample.network import SYSTEMD_UNITS
from xenbook_sample.xenfiles import SYSTEMD, UNITS

SYSTEMCTL = shutil.which("systemctl")
needs_systemctl = pytest.mark.skipif(SYSTEMCTL is None, reason="systemctl is not installed on this machine")

# [Install] forms the Xen units do not use themselves: RequiredBy=, Alias=, Also=, WantedBy= lists, DefaultInstance=
EXTRA = {
    "xen-test-helper.service": "[Unit]\nDescription=helper\n\n[Service]\nExecStart=/usr/bin/true\n\n"
                               "[Install]\nRequiredBy=xenstored.service\nAlias=xen-helper-alias.service\n",
    "xen-test-main.service": "[Unit]\nDescription=main\n\n[Service]\nExecStart=/usr/bin/true\n\n"
                             "[Install]\nWantedBy=multi-user.target\nAlso=xen-test-helper.service proc-xen.mount\n",
    "xen-test-many.service": "[Service]\nExecStart=/usr/bin/true\n\n[Install]\n"
                             "WantedBy=multi-user.target graphical.target\nWantedBy=getty.target\n"
                             "Alias=xen-many-a.service xen-many-b.service\n",
    "xen-test-static.service": "[Service]\nExecStart=/usr/bin/true\n",
    "xen-test-masked.service": "[Service]\nExecStart=/usr/bin/true\n\n[Install]\nWantedBy=multi-user.target\n",
    "xen-test-inst@.service": "[Service]\nExecStart=/usr/bin/true %i\n\n[Install]\nWantedBy=multi-user.target\n"
                              "DefaultInstance=one\n",
}
ENABLE = ["xenstored.service", "xenconsoled", "xen-init-dom0.service", "xen-qemu-dom0-disk-backend.service",
          "xendomains.service", "xen-watchdog.service", "xen-test-main.service", "serial-getty@hvc0.service",
          "getty@.service", "xen-test-many.service", "xen-test-inst@.service", "xen-test-inst@two.service"]
DISABLE = ["xen-test-main.service", "xenconsoled.service", "serial-getty@hvc0.service", "xendomains",
           "xen-test-many", "xen-test-inst@.service"]
ASK = ["xenstored.service", "xenconsoled.service", "proc-xen.mount", "xen-watchdog.service", "xen-test-helper.service",
       "serial-getty@hvc0.service", "serial-getty@ttyS0.service", "getty@tty1.service", "getty@tty2.service",
       "xen-helper-alias.service", "systemd-networkd.service", "multi-user.target", "xen-test-many.service",
       "xen-many-a.service", "xen-test-static.service", "xen-test-masked.service", "xen-test-inst@.service",
       "xen-test-inst@one.service", "xen-test-inst@two.service", "no-such.service"]
MESSAGE = re.compile(r"^(Created symlink|Removed) '?\"?([^'\" ]+)", re.M)  # systemd 253+ quotes, older does not


def links(root) -> dict[str, str]:
    """Every symlink under root's /etc/systemd/system, as host path -> target."""
    out = {}
    for folder, dirs, files in os.walk(os.path.join(root, "etc/systemd/system")):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                out["/" + os.path.relpath(path, root)] = os.readlink(path)
    return out


def hide_systemctl(monkeypatch, tmp_path) -> None:
    """This machine without a systemctl: a PATH with no programs on it."""
    empty = tmp_path / "no-programs"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def simulated(host, monkeypatch, tmp_path, *argv: str):
    with monkeypatch.context() as m:
        hide_systemctl(m, tmp_path)
        return host.run(Command.of("systemctl", *argv))


@pytest.fixture
def pair(tmp_path):
    """Two copies of one sample host with the xen package's units and the ones above, xen-test-masked masked."""
    sample = init_sample(str(tmp_path / "simulated"))
    for name, text in {**UNITS, **EXTRA}.items():
        sample.write_atomic(f"{SYSTEMD}/{name}", text.encode())
    os.symlink("/dev/null", os.path.join(sample.root, "etc/systemd/system/xen-test-masked.service"))
    shutil.copytree(sample.root, tmp_path / "real", symlinks=True)
    return sample, SampleHost(str(tmp_path / "real"))


def same(pair, monkeypatch, tmp_path, *argv: str, ok: bool | None = None, exit_codes: bool = True):
    """Run argv on both copies; the exit codes, is-enabled's output, the links and the links the messages name agree
    (the messages' order aside)."""
    sample, real = pair
    before = real.__dict__.get("answered", {}).get("real", 0)
    by_simulation = simulated(sample, monkeypatch, tmp_path, *argv)
    by_systemctl = real.run(Command.of("systemctl", *argv))
    assert real.answered["real"] == before + 1
    assert not exit_codes or by_simulation.returncode == by_systemctl.returncode, (by_simulation, by_systemctl)
    assert ok is None or by_systemctl.ok == ok, by_systemctl
    assert by_simulation.stdout == by_systemctl.stdout
    assert links(sample.root) == links(real.root)
    assert sorted(MESSAGE.findall(by_simulation.stderr)) == sorted(MESSAGE.findall(by_systemctl.stderr))
    assert "[simulated]" not in by_systemctl.stderr
    return by_simulation, by_systemctl


@needs_systemctl
def test_enable_and_disable_make_the_same_links(pair, monkeypatch, tmp_path):
    sample, real = pair
    before = links(real.root)
    _, done = same(pair, monkeypatch, tmp_path, "enable", *ENABLE, ok=True)
    made = links(real.root)
    assert made["/etc/systemd/system/xenstored.service.requires/xen-test-helper.service"] == \
        "/usr/lib/systemd/system/xen-test-helper.service"
    assert "/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service" in made
    assert {"/etc/systemd/system/graphical.target.wants/xen-test-many.service", "/etc/systemd/system/xen-many-b.service",
            "/etc/systemd/system/multi-user.target.wants/xen-test-inst@one.service",
            "/etc/systemd/system/multi-user.target.wants/xen-test-inst@two.service"} <= set(made)
    created = [path for verb, path in MESSAGE.findall(done.stderr) if verb == "Created symlink"]
    assert sorted(created) == sorted(set(made) - set(before))  # one message per new link, in the sample's paths
    assert "/etc/systemd/system/multi-user.target.wants/xenstored.service" in created

    _, answer = same(pair, monkeypatch, tmp_path, "is-enabled", *ASK)
    states = dict(zip(ASK, answer.stdout.split()))
    assert (states["xen-test-static.service"], states["xen-test-masked.service"], states["no-such.service"]) == \
        ("static", "masked", "not-found")
    checked = [(u, s) for u, s in states.items() if s in ("enabled", "disabled") and "@." not in u]
    assert ("serial-getty@hvc0.service", "enabled") in checked
    assert [(u, services.unit_state(real, u).enabled) for u, _ in checked] == [(u, s == "enabled") for u, s in checked]

    same(pair, monkeypatch, tmp_path, "disable", *DISABLE, ok=True)
    assert "/etc/systemd/system/xen-many-b.service" not in links(real.root)
    _, answer = same(pair, monkeypatch, tmp_path, "is-enabled", *ASK)
    assert dict(zip(ASK, answer.stdout.split()))["xen-helper-alias.service"] == "not-found"  # went with its unit
    same(pair, monkeypatch, tmp_path, "is-enabled", "-q", "xenstored", ok=True)
    same(pair, monkeypatch, tmp_path, "is-enabled", "--quiet", "xendomains", "no-such", ok=False)


@needs_systemctl
@pytest.mark.parametrize("argv", [
    ["enable", "xen-test-static.service"],  # no [Install]: a notice, exit 0, nothing made
    ["disable", "xen-watchdog.service"],  # never enabled: nothing to remove
    ["disable", "xen-test-static"],
    ["enable", "xenstored.service", "no-such.service"],  # fails before any change
    ["enable", "xen-test-masked.service"],  # a masked unit is not enabled
    ["enable", "getty@tty3.service", "serial-getty@hvc0.service"],
    ["enable", "serial-getty@.service"],  # a template without DefaultInstance=
    ["enable", "-q", "xen-test-main.service"],
    ["is-enabled", "getty@.service", "serial-getty@.service", "xen-test-inst@.service", "xen-test-masked"],
    ["is-enabled", "no-such.service"],
    ["is-enabled", "no-such.service", "remote-fs.target"],
])
def test_one_command_agrees(pair, monkeypatch, tmp_path, argv):
    same(pair, monkeypatch, tmp_path, *argv)
    same(pair, monkeypatch, tmp_path, "is-enabled", *ASK)


@needs_systemctl
def test_disabling_a_missing_unit_changes_nothing(pair, monkeypatch, tmp_path):
    """An error either way; systemd 252 prints it and exits 0, the simulation (as later systemd) exits 1."""
    by_simulation, by_systemctl = same(pair, monkeypatch, tmp_path, "disable", "no-such.service", exit_codes=False)
    assert "no-such.service does not exist" in by_simulation.stderr and "does not exist" in by_systemctl.stderr


@needs_systemctl
def test_the_root_option_works_on_a_folder_of_the_sample(pair, monkeypatch, tmp_path):
    sample, real = pair
    for host in (sample, real):
        host.makedirs(f"/mnt/guest{SYSTEMD}")
        for name in ("serial-getty@.service", "getty.target", "systemd-networkd.service", "systemd-networkd.socket",
                     "systemd-network-generator.service", "systemd-networkd-wait-online.service"):
            host.write_atomic(f"/mnt/guest{SYSTEMD}/{name}", SYSTEMD_UNITS[name].encode())
    units = ["serial-getty@hvc0.service", "systemd-networkd.service"]
    _, done = same(pair, monkeypatch, tmp_path, "--root=/mnt/guest", "enable", *units, ok=True)
    assert links(os.path.join(real.root, "mnt/guest")) == links(os.path.join(sample.root, "mnt/guest")) != {}
    assert "/mnt/guest/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service" in done.stderr
    assert real.root not in done.stderr + done.stdout  # the sample's paths, not this machine's
    same(pair, monkeypatch, tmp_path, "--root=/mnt/guest", "is-enabled", *units, "getty@tty1", ok=True)
    result = real.run(Command.of("arch-chroot", "/mnt/guest", "systemctl", "disable", "serial-getty@hvc0"))
    assert result.ok and "/etc/systemd/system/getty.target.wants/serial-getty@hvc0.service" in result.stderr


@needs_systemctl
def test_enable_now_links_for_real_and_starts_on_the_simulated_system(pair):
    _, real = pair
    counts = dict(real.__dict__.get("answered", {"real": 0, "simulated": 0}))
    result = real.run(Command.of("systemctl", "enable", "--now", "xen-test-many.service"))
    assert result.ok, result.stderr
    assert "/etc/systemd/system/getty.target.wants/xen-test-many.service" in links(real.root)
    assert real.run(Command.of("systemctl", "is-active", "xen-test-many.service")).stdout == "active\n"
    assert real.answered["real"] == counts["real"] + 1  # the links; then the start, and is-active, simulated
    assert real.answered["simulated"] == counts["simulated"] + 2


def test_without_systemctl_the_sample_simulates_and_says_so_once(tmp_path, monkeypatch):
    sample = init_sample(str(tmp_path / "sample"))
    hide_systemctl(monkeypatch, tmp_path)
    first = sample.run(Command.of("systemctl", "enable", "getty@tty2.service"))
    assert first.ok and "[simulated] no systemctl is installed on this machine" in first.stderr
    assert "/etc/systemd/system/getty.target.wants/getty@tty2.service" in links(sample.root)
    second = sample.run(Command.of("systemctl", "is-enabled", "getty@tty2.service"))
    assert (second.stdout, second.stderr) == ("enabled\n", "")  # said once
    assert sample.answered == {"real": 0, "simulated": 2}


@needs_systemctl
def test_a_root_whose_links_lead_out_of_the_tree_is_refused(tmp_path):
    sample = init_sample(str(tmp_path / "sample"))
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = os.path.join(sample.root, "etc/systemd/system")
    shutil.rmtree(folder)
    os.symlink(os.path.relpath(outside, os.path.dirname(folder)), folder)
    result = sample.run(Command.of("systemctl", "enable", "getty@tty2.service"))
    assert result.returncode == 1 and "leads out of the sample host's tree" in result.stderr
    assert os.listdir(outside) == []

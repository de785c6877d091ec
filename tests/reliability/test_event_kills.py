"""Every event-chosen kill point converges: a run killed before its Nth write, rename or command, for every N of
the run, inside the sample host's simulated programs too (pacman, git clone, makepkg, mount, umount), loses nothing,
and the next run (after `xenbook unlock`) reaches the uninterrupted run's tree byte for byte.

The points are events, not moments in time, so a failure names the event (e.g. "before the write (write_atomic) of
/var/lib/pacman/local/seabios-1.17.0-1/desc") and replays the same way every time."""

from __future__ import annotations

import os

import pytest

from . import crashes, events, faults, samples, trees

GUEST = {"name": "dom01", "ssh_key": samples.KEY, "root_password_hash_env": samples.HASH_ENV}


def scenarios(template) -> list[crashes.Scenario]:
    S = crashes.Scenario
    return [
        S("bios-grub2:install", template("bios-grub2", "fresh"), ("preflight", "install")),
        S("bios-grub-legacy:boot-dom0", template("bios-grub-legacy", "installed"), ("boot", "dom0")),
        S("bios-grub2:domu-lvm", template("bios-grub2", "xen"), ("domu",),
          {"guests": [{**GUEST, "autostart": True}]}),
        S("uefi-systemd-boot:domu-image", template("uefi-systemd-boot", "xen"), ("domu",),
          {"guests": [{**GUEST, "storage": "image", "type": "pv", "fstab_device": "xvda"}]}),
    ]


@pytest.fixture(scope="module")
def campaign(template, pool, scratch):
    return crashes.campaign(pool, scenarios(template), os.path.join(scratch, "events"), events.install)


def test_every_event_kill_point_converges(campaign, tally):
    tally["event kill points"] += sum(campaign.points.values())
    tally["losses"] += len(campaign.findings)
    assert not campaign.findings, f"{len(campaign.findings)} event kill points lost data or did not converge:\n" + \
        "\n".join(str(f) for f in campaign.findings[:10])
    assert len(campaign.points) == len(scenarios(lambda *a: "")), "a scenario did not run"
    assert sum(campaign.points.values()) >= 150, campaign.points
    for name, n in campaign.points.items():
        assert n >= 30, f"{name}: only {n} event kill points: the instrumentation lost its hooks"


def test_event_kill_points_reach_inside_the_simulated_programs(campaign):
    """Writes, renames and commands are all points, the sample's pacman, git clone and umount among them."""
    kinds = ["before the write (write_atomic) of /var/lib/pacman/local/", "before the write (append) of ",
             "before the write (create_exclusive) of ", "before the write (copy_file) of ",
             "before the rename to ", "before the command umount", "before the command mount",
             "before the write (write_atomic) of /var/lib/xenbook/build/xen/PKGBUILD",
             "before the write (write_atomic) of /.xenbook-sample/state.json"]
    for kind in kinds:
        assert any(label.startswith(kind) for label in campaign.labels), f"no event kill point {kind!r}"


@pytest.mark.parametrize("name, every", [("bios-grub2:install", 37), ("uefi-systemd-boot:domu-image", 23)])
def test_a_plain_event_kill_leaves_what_its_checkpoint_left(name, every, campaign, template, scratch, tally):
    """Kill a fresh child before its nth event (no checkpoints): same host state as the checkpoint, and the next
    run converges."""
    scenario = next(s for s in scenarios(template) if s.name == name)
    with faults.frozen_sample_clock():
        ref = crashes.reference(scenario, os.path.join(scratch, "plain-events", "reference"))
    root = os.path.join(scratch, "plain-events", "host")
    problems = []
    for n in range(5, campaign.points[name] + 1, every):
        samples.copy_host(scenario.pre, root)
        run = faults.kill_at(lambda: scenario.apply(root), n, os.path.join(scratch, "plain-events", "log"),
                             events.install)
        assert run.killed, f"event {n} was never reached: {run.error}"
        crash = run.crashes()[-1]
        tally["true kills"] += 1
        if trees.digest(trees.host_state(root)) != campaign.states[(name, n)]:
            problems.append(f"event {n} ({crash.label}): the plain kill left another host state than its checkpoint")
        with faults.frozen_sample_clock():
            found = crashes.damage(root, crash) + crashes.recover(scenario, root, ref)
        problems += [f"event {n} ({crash.label}): {p}" for p in found]
    tally["losses"] += len(problems)
    assert not problems, "\n".join(problems)

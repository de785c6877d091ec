"""Crash safety: a run SIGKILLed at any kill point loses nothing, and the next run converges.

For each scenario (a sample host at some stage, sections and parameters) a child runs the runner once; at every
kill point (see faults.py) the tree as it stands there, which is what a SIGKILL there leaves, is kept. Each tree
is checked: every file the runner was writing holds its old or its new content, never a partial or empty one;
every replaced file has a backup with its old content and mode. Then the next run, the documented way (it fails
naming the dead holder of the lock, `xenbook unlock` clears it), must report the interrupted step and leave exactly
the tree of an uninterrupted run (backups, ledger and lock aside). Kill points that leave identical trees share one
recovery run.

A sample of points is also killed the plain way (a fresh child killed at its nth point, from scratch): it must leave
the same host state as the checkpoint of that point, and pass the same checks.

This tier does not prove that anything survives a power loss: a killed process keeps everything it wrote in the
page cache, fsynced or not, so it would stay green if every os.fsync in xenbook were deleted."""

from __future__ import annotations

import os

import pytest

from xenbook.connectors import remote, rooted

from . import crashes, faults, samples, trees

QUICK = {"samples": 1, "refresh_seconds": 0.5}  # the dashboard's snapshot without minutes of sampling
GUEST = {"name": "dom01", "ssh_key": samples.KEY, "root_password_hash_env": samples.HASH_ENV}


def scenarios(template) -> list[crashes.Scenario]:
    S = crashes.Scenario
    return [
        S("bios-grub2:install-boot-dom0", template("bios-grub2", "fresh"), ("preflight", "install", "boot", "dom0"),
          {"boot": {"console": "com1,vga", "com1": "115200,8n1", "loglvl": "info"}}),
        S("bios-grub-legacy:boot-dom0", template("bios-grub-legacy", "installed"), ("boot", "dom0")),
        S("uefi-systemd-boot:boot-dom0", template("uefi-systemd-boot", "installed"), ("boot", "dom0")),
        S("uefi-systemd-boot:efibootmgr", template("uefi-systemd-boot", "installed"), ("boot",),
          {"boot": {"uefi_entry": "efibootmgr"}}),
        S("no-virt:boot-dom0", template("no-virt", "installed"), ("boot", "dom0"),
          {"guests": [], "dom0": {"xendomains": True}}),
        S("bios-grub2:new-boot-options", template("bios-grub2", "xen"), ("boot",),
          {"boot": {"dom0_mem": "4096M", "dom0_vcpus_pin": True, "loglvl": "debug", "xen_options": ["smt=off"]}}),
        S("bios-grub2:domu-lvm", template("bios-grub2", "xen"), ("domu",),
          {"guests": [{**GUEST, "autostart": True}]}),
        S("uefi-systemd-boot:domu-image", template("uefi-systemd-boot", "xen"), ("domu",),
          {"guests": [{**GUEST, "storage": "image", "type": "pv", "fstab_device": "xvda"}]}),
    ] + [S(f"{profile}:pv-guest", template(profile, "fresh"), ("pv-guest",),
           {"pv_guest": {"framebuffer": True, "xenfs": True}})
         for profile in samples.GUEST_PROFILES] + [
        S("bios-grub2:manage", template("bios-grub2", "guests"), ("manage",),
          {"guests": [samples.GUEST], "manage": {**QUICK, "action": "autostart-on", "domain": "web"}})]


@pytest.fixture(scope="module")
def campaign(template, pool, scratch):
    found = crashes.campaign(pool, scenarios(template), os.path.join(scratch, "crash"))
    return found


def test_every_kill_point_loses_nothing_and_converges(campaign, tally):
    tally["kill points"] += sum(campaign.points.values())
    losses = [f for f in campaign.findings]
    tally["losses"] += len(losses)
    assert not losses, f"{len(losses)} kill points lost data or did not converge:\n" + "\n".join(
        str(f) for f in losses[:10])
    assert len(campaign.points) == len(scenarios(lambda *a: "")), "a scenario did not run"
    for name, n in campaign.points.items():
        assert n >= 15, f"{name}: only {n} kill points: the instrumentation lost its hooks"


def test_kill_points_cover_every_kind_of_moment(campaign):
    """Every kind of moment the harness promises was a kill point, so a renamed function cannot hide one."""
    kinds = ["before the step", "before the command", "after the command", "at an fsync",
             "before the rename", "after the rename", "before the backup copy", "in the middle of the backup copy",
             "after the backup copy", "before the command grub-mkconfig", "after the command grub-mkconfig",
             "before the command systemctl", "before the command mount", "after the command umount",
             "before the rename to {root}/var/lib/xenbook/pending/", "before the rename to {root}/etc/default/grub"]
    for kind in kinds:
        assert any(label.startswith(kind.split("{root}")[0]) and kind.split("{root}")[-1] in label
                   for label in campaign.labels), f"no kill point {kind!r}"
    assert sum(campaign.distinct.values()) >= 100, campaign.distinct


@pytest.mark.parametrize("name, every", [("bios-grub-legacy:boot-dom0", 9), ("bios-grub2:domu-lvm", 13)])
def test_a_plain_kill_leaves_what_its_checkpoint_left(name, every, campaign, template, scratch, tally):
    """Kill a fresh child at its nth point (no checkpoints): same host state as the checkpoint, same checks pass."""
    scenario = next(s for s in scenarios(template) if s.name == name)
    with faults.frozen_sample_clock():
        ref = crashes.reference(scenario, os.path.join(scratch, "plain", "reference"))
    root = os.path.join(scratch, "plain", "host")
    problems = []
    for n in range(3, campaign.points[name] + 1, every):
        samples.copy_host(scenario.pre, root)
        run = faults.kill_at(lambda: scenario.apply(root), n, os.path.join(scratch, "plain", "log"))
        assert run.killed, f"point {n} was never reached: {run.error}"
        crash = run.crashes()[-1]
        tally["true kills"] += 1
        if trees.digest(trees.host_state(root)) != campaign.states[(name, n)]:
            problems.append(f"point {n} ({crash.label}): the plain kill left another host state than its checkpoint")
        with faults.frozen_sample_clock():
            found = crashes.damage(root, crash) + crashes.recover(scenario, root, ref)
        problems += [f"point {n} ({crash.label}): {p}" for p in found]
    tally["losses"] += len(problems)
    assert not problems, "\n".join(problems)


class LocalCommandHost(remote.CommandFilesHost):
    """The file operations of the SSH host, run here without ssh (its scripts under this machine's sh)."""

    target = "local-commands"

    def _run_bytes(self, argv, stdin=None, *, timeout=None, on_line=None):
        return remote.spawn(tuple(argv), stdin, timeout=timeout, on_line=on_line)


@pytest.mark.parametrize("kind", ["rooted", "commands"])
def test_a_write_removes_the_temporary_file_a_killed_write_left(kind, scratch):
    """A kill between the temporary file and the rename leaves the temporary file: the next write of that file
    removes it (nothing else runs in between, the lock sees to that), so a re-run leaves no debris behind."""
    folder = os.path.join(scratch, "debris", kind)
    os.makedirs(os.path.join(folder, "etc"))
    target = os.path.join(folder, "etc", "grub")
    with open(target, "w") as f:
        f.write("old\n")
    if kind == "rooted":
        host, path, stale = rooted.ChrootHost(folder), "/etc/grub", ".grub.k3x9_q1z.xenbook-new"
    else:
        host, path, stale = LocalCommandHost(), target, ".grub.xenbook-Ab12Cd"
    others = ["grub", ".grub.keep", ".other.k3x9_q1z.xenbook-new", stale]
    for name in others[1:]:
        with open(os.path.join(folder, "etc", name), "w") as f:
            f.write("half a write" if name == stale else "not xenbook's\n")
    host.write_atomic(path, b"new\n")
    assert sorted(os.listdir(os.path.join(folder, "etc"))) == sorted(others[:-1])
    with open(target) as f:
        assert f.read() == "new\n"

"""Bad input exits 2 naming the parameter, before the host is changed: whole-value rules, normalised paths, guests
that collide, errors of meaning the host shows, strict YAML, colliding --set pairs, and an apply without a target."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xenbook.cli import main as cli
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build
from xenbook_sample.host import init_sample


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["bad inputs"] += 1


# a valid value of every text parameter; each with a trailing newline (a YAML block scalar's) must be refused
TEXT = {
    "ssh_config": "/root/.ssh/config", "install.build_user": "xb", "install.build_dir": "/srv/b",
    "install.versions": ["xen:4.21.2-1"], "boot.dom0_mem": "2G", "boot.console": "vga", "boot.xen_options":
    ["iommu=verbose"], "boot.kernel": "linux-lts", "dom0.bridge": "br0", "dom0.uplink": "eth0", "guests.0.name": "g1",
    "guests.0.cpus": "1-2", "guests.0.size": "2G", "guests.0.volume_group": "vg1", "guests.0.image_dir": "/srv/img",
    "guests.0.packages": ["vim"], "guests.0.bridge": "br0", "guests.0.mac": "00:16:3e:00:00:01",
    "guests.0.hostname": "h1", "guests.0.ssh_key": "ssh-ed25519 AAAA x@y", "guests.0.iso": "/srv/a.iso",
    "guests.0.root_password_hash_file": "/etc/h", "guests.0.root_password_hash_env": "H",
    "manage.cpus": "1-2", "manage.memory": "1G", "pv_guest.vm_uuid": "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b",
}


def nested(path: str, value) -> dict:
    head, _, rest = path.partition(".")
    if not rest:
        return {head: value}
    if head == "guests":
        return {"guests": [nested(rest.partition(".")[2], value)]}
    return {head: nested(rest, value)}


def refused(data: dict) -> list[str]:
    """The parameters ParameterError names for data ([] when data is valid)."""
    try:
        build(RunbookParams, data)
    except ParameterError as e:
        return [name for name, _, _ in e.problems]
    return []


@pytest.mark.parametrize("path", sorted(TEXT))
def test_a_trailing_newline_is_refused_in_every_text_parameter(path):
    value = TEXT[path]
    assert refused(nested(path, value)) == []
    bad = [v + "\n" for v in value] if isinstance(value, list) else value + "\n"
    names = refused(nested(path, bad))
    assert names and names[0].startswith(path.rpartition(".")[0] or path), names


@pytest.mark.parametrize("value", ["/.", "//etc", "/usr/.", "/var", "/root", "/home", "/bin", "/var/lib/",
                                   "/var/tmp/.", "/usr/local/src", "/etc/xen/build", "/var/lib/xenbook/backups"])
def test_the_build_folder_is_never_a_system_folder(value):
    assert refused({"install": {"build_dir": value}}) == ["install.build_dir"]


def test_paths_are_normalised():
    params = build(RunbookParams, {"install": {"build_dir": "//srv//aur/./"},
                                   "guests": [{"name": "a", "storage": "image", "image_dir": "/srv//img/."}]})
    assert params.install.build_dir == "/srv/aur" and params.guests[0].image_dir == "/srv/img"


@pytest.mark.parametrize("guests, named", [
    ([{"name": "web"}, {"name": "Web"}], "guests.1.name"),
    ([{"name": "a", "mac": "00:16:3e:00:00:01"}, {"name": "b", "mac": "00:16:3E:00:00:01"}], "guests.1.mac"),
    ([{"name": "a", "hostname": "h"}, {"name": "b", "hostname": "h"}], "guests.1.hostname"),
    ([{"name": "a_b"}, {"name": "a-b"}], "guests.1.hostname"),
    ([{"name": "a", "storage": "partition", "device": "/dev/sdb1"},
      {"name": "b", "storage": "partition", "device": "/dev//sdb1"}], "guests.1.device"),
    ([{"name": "a", "storage": "image", "image_dir": "/srv/i"},
      {"name": "x", "storage": "partition", "device": "/dev/sdb1"},
      {"name": "a", "storage": "image", "image_dir": "/srv/i/"}], "guests.2.name"),
])
def test_guests_that_collide_are_refused(guests, named):
    assert refused({"guests": guests}) == [named]


def test_force_confirms_the_guests_own_disk_and_destroy_needs_its_confirmation():
    guest = {"name": "a", "storage": "partition", "device": "/dev/sdb1", "force": True}
    assert refused({"guests": [guest | {"confirm": "/dev/sdc1"}]}) == ["guests.0"]
    assert refused({"guests": [guest | {"confirm": "/dev/sdb1"}]}) == []
    image = {"name": "b", "storage": "image", "force": True}  # an image guest confirms its image file
    assert refused({"guests": [image | {"confirm": "/var/lib/xen/images/b.img"}]}) == []
    assert refused({"guests": [image | {"confirm": "/var/lib/xen/images/a.img"}]}) == ["guests.0"]
    assert refused({"manage": {"action": "destroy", "domain": "web"}}) == ["manage"]
    assert refused({"manage": {"action": "destroy", "domain": "web", "confirm": "db"}}) == ["manage"]
    assert refused({"manage": {"action": "destroy", "domain": "web", "confirm": "web"}}) == []


def invoke(*argv: str):
    result = CliRunner().invoke(cli.main, list(argv))
    message = result.stderr if hasattr(result, "stderr") else result.output
    assert result.exit_code == 2 and "bad input, nothing was changed" in message, (argv, result.exit_code, message,
                                                                                     result.exception)
    return message


def bomb() -> str:
    text, previous = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n', "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


@pytest.mark.parametrize("content, rule", [
    (bomb().encode(), "alias bomb"),
    (b"target: local\nboot:\n  dom0_mem: 2G\n  dom0_mem: 4G\n", "gives the key 'dom0_mem' twice"),
    (b"target: local\ntarget: sample\n", "gives the key 'target' twice"),
    (b"target: local\nboot: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nests deeper"),
    (b"target: local\nboot: " + b"{a: " * 2000 + b"1" + b"}" * 2000 + b"\n", "nests deeper"),
    (b"target: local\nguests:\n  - name: caf\xe9\n", "is not UTF-8"),
    (bytes(range(256)) * 4, "is not UTF-8"),
    (b"target: local\x00\n", "NUL byte"),
    (b"target: local\nboot: &a [*a]\n", "refers to itself"),
    (b"1: x\n", "no parameter name"),
    (b"x" * (2 * 1024 * 1024), "larger than"),
])
def test_hostile_yaml_exits_2_with_a_message(tmp_path, content, rule):
    params = tmp_path / "host.yaml"
    params.write_bytes(content)
    message = invoke("plan", "--params", str(params))
    assert f"parameter params = '{params}'" in message and rule in message, message


@pytest.mark.parametrize("sets, pair", [
    (["boot=1", "boot.dom0_mem=4G"], "boot.dom0_mem=4G"), (["boot.dom0_mem=4G", "boot=1"], "boot=1"),
    (["boot..dom0_mem=4G"], "boot..dom0_mem=4G"), (["boot.dom0_mem=" + "[" * 100 + "]" * 100], "boot.dom0_mem="),
])
def test_colliding_set_pairs_exit_2(sets, pair):
    message = invoke("plan", "--target", "local", *[a for s in sets for a in ("--set", s)])
    assert f"parameter --set = '{pair}" in message, message


def test_an_apply_names_its_target(tmp_path):
    params = tmp_path / "host.yaml"
    params.write_text("boot: {dom0_mem: 4G}\n")
    for argv in (["apply", "--params", str(params)], ["apply", "--sections", "boot"],
                 ["run", "--apply", "--params", str(params)]):
        assert "parameter target = None: is not named" in invoke(*argv)


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_errors_of_meaning_are_found_before_the_first_change(tmp_path, monkeypatch):
    host = init_sample(str(tmp_path / "host"))
    (tmp_path / "host" / "srv" / "taken").mkdir(parents=True)
    (tmp_path / "host" / "srv" / "taken" / "notes.txt").write_text("someone's\n")
    (tmp_path / "host" / "srv" / "empty").mkdir()
    monkeypatch.delenv("XENBOOK_UNSET_HASH", raising=False)
    before = tree(tmp_path / "host")
    target = f"sample:{host.root}"
    cases = {
        "guests.0.root_password_hash_env": {"guests": [{"name": "a", "root_password_hash_env": "XENBOOK_UNSET_HASH"}]},
        "guests.0.root_password_hash_file": {"guests": [{"name": "a", "root_password_hash_file": str(tmp_path / "no")}]},
        "guests.0.memory": {"guests": [{"name": "a", "memory": 4 * 1024 * 1024}]},
        "guests.0.cpus": {"guests": [{"name": "a", "cpus": "0-99"}]},
        "guests.0.bridge": {"guests": [{"name": "a", "bridge": "br9"}]},
        "install.build_dir": {"install": {"build_dir": "/srv/taken"}},
    }
    for name, data in cases.items():
        params = tmp_path / "host.yaml"
        params.write_text(json.dumps({"target": target, **data}))
        sections = "install" if name.startswith("install") else "domu"
        message = invoke("apply", "--params", str(params), "--sections", sections)
        assert f"parameter {name} = " in message, message
    assert tree(tmp_path / "host") == before
    params.write_text(json.dumps({"target": target, "install": {"build_dir": "/srv/empty"}}))
    planned = CliRunner().invoke(cli.main, ["plan", "--params", str(params), "--sections", "install"])
    assert planned.exit_code == 0, planned.output  # an empty folder holds nothing to hand over

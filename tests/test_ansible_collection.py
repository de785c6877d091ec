"""The Ansible collection's pure parts, without Ansible: xenbook's JSON report as the runbook module's result, the
argv it runs, the secrets it hands to no_log, the fleet summary's pages and the wheelhouse's manifest and tar
(the playbook runs are in tests/test_ansible_fleet.py)."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import yaml

from xenbook.core import masks

ROOT = Path(__file__).parent.parent
COLLECTION = ROOT / "ansible_collections" / "xenbook" / "xen"


def _load(relative: str):
    spec = importlib.util.spec_from_file_location(Path(relative).stem, COLLECTION / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


results = _load("plugins/module_utils/runbook_result.py")
fleet = _load("plugins/module_utils/fleet_pages.py")
wheelhouse = _load("scripts/wheelhouse.py")

HASH = "$6$saltsalt$Tq0vY3fQw4nC6s0Zb6hG8qkJ2y5mXk1d0xL0m5qg3gH7W1bC8dA9eF0gH1iJ2kL3mN4oP5qR6sT7uV8wX9yZ."
PEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def test_the_module_masks_what_xenbook_masks():
    """The module runs under the node's Python without xenbook, so it holds copies of xenbook's patterns."""
    assert [p.pattern for p in (results.PEM, results.CRYPT, results.PBKDF2)] == \
           [p.pattern for p in (masks._PEM, masks._CRYPT, masks._PBKDF2)]
    assert results.SECRET_WORDS == masks.SECRET_WORDS
    for name in ("root_password", "boot.grub_password", "api_key", "token", "x.root_password_hash_file", "name"):
        assert results.secret_name(name) == masks.secret_name(name), name


SECRET_CASES = [
    ("a secret-named value", {"guests": [{"name": "d", "root_password": "hunter2"}]}, {"hunter2"}),
    ("a crypt hash anywhere", {"note": f"hash {HASH} here"}, {HASH, f"hash {HASH} here"}),
    ("a private key", {"guests": [{"ssh_key": PEM}]}, {PEM, PEM.strip()}),
    ("a path to a secret is no secret", {"guests": [{"root_password_hash_file": "/etc/h"}]}, set()),
    ("a secret-named variable's name, which xenbook hides too", {"guests": [{"root_password_hash_env": "DOM01_HASH"}]},
     {"DOM01_HASH"}),
    ("numbers and empty values", {"token": "", "boot": {"dom0_max_vcpus": 2}}, set()),
    ("a secret-named number, as Ansible prints it", {"root_password": 98765432, "api_key": 1.5},
     {"98765432", "1.5"}),
    ("every leaf under a secret-named mapping", {"tokens": {"github": "ghp_x", "more": [{"a": 7, "b_file": "/p"}]}},
     {"ghp_x", "7", "/p"}),
    ("under a secret-named list", {"passwords": ["a1", ["b2", 3]]}, {"a1", "b2", "3"}),
    ("booleans and None, which Ansible cannot hide, and a secret-named key's empty value",
     {"secret": True, "token": None, "tokens": {"a": False, "b": ""}}, set()),
    ("a secret-named key's path is no secret at any depth", {"guests": [{"ssh": {"private_key_file": "/k"}}]},
     set()),
]


@pytest.mark.parametrize("params, expected", [c[1:] for c in SECRET_CASES], ids=[c[0] for c in SECRET_CASES])
def test_secret_values_finds_what_must_never_be_echoed(params, expected):
    assert results.secret_values(params) == expected


def test_secret_env_names_must_be_environment_variable_names():
    assert results.bad_env_names({"DOM01_ROOT_HASH": "x", "_ok": "y"}) == []
    assert results.bad_env_names({"1BAD": "x", "A-B": "y", "A B": "z", "OK": "w"}) == ["1BAD", "A-B", "A B"]


def test_the_command_is_an_argv_list_whatever_the_values():
    target = "sample:/srv/a b;$(touch /tmp/pwned)"
    argv = results.command("/opt/xb/bin/xenbook", "apply", "/tmp/p.yaml", target, ["boot", "dom0"], 5)
    assert argv == ["/opt/xb/bin/xenbook", "apply", "--params", "/tmp/p.yaml", "--target", target,
                    "--sections", "boot,dom0", "--yes", "--wait", "5", "--json"]
    assert results.command("x", "plan", "p", None, None) == ["x", "plan", "--params", "p", "--json"]
    assert results.command("x", "plan", "p", None, [])[-2:] == ["", "--json"]  # xenbook refuses an empty --sections


def _step(section, name, status, **extra):
    return {"section": section, "name": name, "status": status, "reason": extra.pop("reason", ""),
            "diffs": extra.pop("diffs", []), "commands": [], "remedy": extra.pop("remedy", ""), "validated": [],
            "unvalidated": [], "output": "long output", "verdict": "", "value": "", "duration": 0.1}


DIFF = {"path": "/etc/pacman.conf", "diff": "--- a/etc/pacman.conf\n+++ b/etc/pacman.conf\n@@ -1 +1,2 @@\n x\n+y\n"}
REPORT = {"target": "sample:/h", "simulated": True, "reboot_required": "", "interrupted": []}
RESULT_CASES = [
    ("apply converged", dict(REPORT, dry_run=False, steps=[_step("boot", "A", "ok")]), 0, "", False, False,
     {"changed": False, "failed": False, "reboot_required": False, "msg": "sample:/h: 1 ok"}),
    ("apply changed", dict(REPORT, dry_run=False, steps=[_step("install", "M", "changed", diffs=[DIFF])]), 0, "",
     False, True, {"changed": True, "failed": False, "diff": [{"prepared": DIFF["diff"]}]}),
    ("plan would change", dict(REPORT, dry_run=True, steps=[_step("install", "M", "would-change", diffs=[DIFF])]),
     0, "", True, True, {"changed": True, "failed": False, "diff": [{"prepared": DIFF["diff"]}], "dry_run": True}),
    ("no diff unless asked", dict(REPORT, dry_run=True, steps=[_step("install", "M", "would-change", diffs=[DIFF])]),
     0, "", True, False, {"changed": True}),
    ("a reboot pending is no failure", dict(REPORT, dry_run=False, reboot_required="reboot into Xen",
                                            steps=[_step("dom0", "RebootIntoXen", "changed")]), 3, "", False, False,
     {"changed": True, "failed": False, "rc": 3, "reboot_required": True, "reboot_reason": "reboot into Xen",
      "msg": "sample:/h: 1 changed; reboot needed: reboot into Xen"}),
    ("a failed step gives its remedy", dict(REPORT, dry_run=False, steps=[
        _step("boot", "GrubConfig", "failed", reason="grub-mkconfig exited 1", remedy="fix 40_custom"),
        _step("dom0", "X", "skipped")]), 1, "", False, False,
     {"failed": True, "msg": "boot/GrubConfig failed: grub-mkconfig exited 1; remedy: fix 40_custom",
      "counts": {"failed": 1, "skipped": 1}}),
    ("bad input: xenbook's message", None, 2,
     "     running preflight/Cpu\nxenbook: bad input, nothing was changed:\n  parameter boot.dom0_mem = 'lots': must "
     "be a whole number with a unit K, M, G or T, e.g. 2048M or 4G\n", False, False,
     {"failed": True, "rc": 2, "steps": [], "msg": "xenbook: bad input, nothing was changed:\n  parameter "
      "boot.dom0_mem = 'lots': must be a whole number with a unit K, M, G or T, e.g. 2048M or 4G"}),
    ("no report, no message", None, 1, "", False, False,
     {"failed": True, "msg": "xenbook exited 1 and printed no report"}),
    ("an exit code without a failed step", dict(REPORT, dry_run=False, steps=[]), 1, "xenbook: the lock is held\n",
     False, False, {"failed": True, "msg": "xenbook: the lock is held"}),
]


@pytest.mark.parametrize("report, rc, stderr, check_mode, want_diff, expected", [c[1:] for c in RESULT_CASES],
                         ids=[c[0] for c in RESULT_CASES])
def test_the_result_from_xenbooks_report(report, rc, stderr, check_mode, want_diff, expected):
    out = results.result(report, rc, stderr, check_mode, want_diff)
    assert {k: out[k] for k in expected} == expected
    assert ("diff" in out) == want_diff or report is None
    assert all("output" not in s and "diffs" not in s for s in out["steps"])  # paths only, no long text twice


def test_each_step_keeps_its_diff_paths():
    out = results.result(dict(REPORT, dry_run=False, steps=[_step("install", "M", "changed", diffs=[DIFF])]), 0, "",
                         False, False)
    assert out["steps"] == [{"section": "install", "name": "M", "status": "changed", "reason": "", "remedy": "",
                             "commands": [], "validated": [], "unvalidated": [], "verdict": "", "value": "",
                             "duration": 0.1, "paths": ["/etc/pacman.conf"]}]


def _ran(changed=0, **extra):
    return {"changed": bool(changed), "failed": False, "target": "sample:/x", "counts": {"changed": changed},
            "msg": "sample:/x: ok", **extra}


SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}
ROW_CASES = [
    ("converged after a reboot", {"plan": _ran(), "apply": _ran(5, reboot_required=True), "after_reboot": _ran(3),
                                  "verify": _ran()},
     {"state": "converged", "changes": 8, "rebooted": True, "second_run": "0 changed"}),
    ("not converged", {"plan": _ran(), "apply": _ran(1), "after_reboot": SKIPPED, "verify": _ran(1)},
     {"state": "not converged", "changes": 1, "rebooted": False, "second_run": "1 changed"}),
    ("failed at the plan", {"plan": {"failed": True, "msg": "parameter boot.dom0_mem = 'lots': ..."}},
     {"state": "failed", "message": "plan: parameter boot.dom0_mem = 'lots': ...", "target": ""}),
    ("a check-mode run", {"plan": _ran(msg="3 would-change"), "apply": _ran(), "after_reboot": SKIPPED,
                          "verify": SKIPPED}, {"state": "planned", "message": "3 would-change"}),
    ("no record", None, {"state": "no result"}),
    ("every phase skipped", {"plan": SKIPPED, "apply": {}}, {"state": "no result"}),
]


@pytest.mark.parametrize("record, expected", [c[1:] for c in ROW_CASES], ids=[c[0] for c in ROW_CASES])
def test_a_hosts_row_in_the_fleet_summary(record, expected):
    row = fleet.row("xen1", record, ["report.html"])
    assert {k: row[k] for k in expected} == expected
    assert row["files"] == ["report.html"]


def test_the_pages_escape_and_link_each_hosts_folder():
    rows = [fleet.row("<script>x</script>", {"plan": {"failed": True, "msg": "a | b <b>"}}, ["report.html"]),
            fleet.row("xen 2", {"plan": _ran(), "apply": _ran(1), "verify": _ran()}, ["report.html", "report.md"])]
    html_page, md = fleet.page(rows, "Fleet <1>"), fleet.markdown(rows, "Fleet")
    assert "<script>x" not in html_page and "&lt;script&gt;x&lt;/script&gt;" in html_page
    assert "<title>Fleet &lt;1&gt;</title>" in html_page and "a | b &lt;b&gt;" in html_page
    assert 'href="xen%202/report.html"' in html_page and 'href="xen%202/report.md"' in html_page
    assert "<script" not in html_page.lower() and "http" not in html_page  # self-contained, no script
    assert "2 hosts: 1 converged, 1 failed" in md and "a \\| b &lt;b&gt;" in md
    assert "[html](xen%202/report.html) [md](xen%202/report.md)" in md
    assert {len(re.split(r"(?<!\\)\|", line)) for line in md.splitlines() if line.startswith("|")} == {10}
    assert "1 host: 1 failed" in fleet.markdown(rows[:1], "Fleet") and "<p>1 host: 1 failed</p>" in fleet.page(rows[:1], "F")


HOSTILE = "<img src=x onerror=alert(1)> <script>x</script> a|b \\| [l](javascript:x) &amp;\nnext | line"


def test_the_markdown_page_shows_hostile_text_as_text():
    rows = [fleet.row("xen1", {"plan": {"failed": True, "msg": HOSTILE, "target": HOSTILE}}, ["report.md"]),
            fleet.row("xen2", {"plan": _ran(target=HOSTILE, msg=HOSTILE)}, [])]
    md = fleet.markdown(rows, "Fleet <b>|\n")
    assert "<" not in md and ">" not in md and "&amp;amp;" in md and "&lt;script&gt;" in md
    assert "\\[l\\](javascript:x)" in md and "](javascript" not in md.replace("\\]", "")
    assert md.startswith("# Fleet &lt;b&gt;\\|\n")
    cells = [re.findall(r"(?:\\.|[^|\\])+", line) for line in md.splitlines() if line.startswith("| xen")]
    assert [len(c) for c in cells] == [8, 8]  # no cell break: each | and \ escaped, one line per row
    assert cells[0][2].strip().startswith("&lt;img") and cells[0][-1].strip() == "[md](xen1/report.md)"


MALFORMED = [
    ("counts a string", {"plan": _ran(), "apply": _ran(counts="many"), "verify": _ran(counts=["x"])},
     {"state": "converged", "changes": 0, "second_run": "unknown (malformed counts)"}),
    ("counts not whole numbers", {"apply": _ran(counts={"changed": "5"}), "verify": _ran(counts={"changed": True})},
     {"changes": 0, "second_run": "unknown (malformed counts)"}),
    ("a negative count", {"apply": _ran(counts={"changed": -3})}, {"changes": 0, "state": "planned"}),
    ("msg a mapping", {"plan": {"failed": True, "msg": {"a": [1]}}},
     {"state": "failed", "message": 'plan: {"a": [1]}'}),
    ("msg a list, target a number", {"plan": _ran(msg=["x", 2], target=7)}, {"message": '["x", 2]', "target": "7"}),
    ("msg null", {"verify": _ran(msg=None)}, {"message": ""}),
    ("phases not mappings", {"plan": "ok", "apply": [1], "verify": 3}, {"state": "no result"}),
    ("a list, not a record", ["plan"], {"state": "no result"}),
]


@pytest.mark.parametrize("record, expected", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_a_malformed_result_is_shown_never_a_crash(record, expected):
    row = fleet.row("xen1", record, [])
    assert {k: row[k] for k in expected} == expected
    assert fleet.page([row], "F").count("<tr>") == 2 and fleet.markdown([row], "F").count("\n| xen1 |") == 1


def _tasks(tasks: list[dict]):
    for task in tasks:
        yield task
        for part in ("block", "rescue", "always"):
            yield from _tasks(task.get(part, []))


def test_a_check_run_writes_nothing_on_the_node():
    """Every task of the rolling playbook that runs in check mode for real (check_mode: false) runs on the
    controller, or only outside check mode (xenbook doctor reads; xenbook report writes its files)."""
    play, = yaml.safe_load((COLLECTION / "playbooks" / "rolling.yml").read_text())
    real = [t for t in _tasks(play["pre_tasks"] + play["tasks"]) if t.get("check_mode") is False]
    assert len(real) >= 6
    on_node = [t["name"] for t in real if t.get("delegate_to") != "localhost"
               and "not ansible_check_mode" not in str(t.get("when", ""))]
    assert on_node == []


def _wheels(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(n.encode() * 100)


def test_the_wheelhouse_manifest_and_tar_are_the_same_for_the_same_wheels(tmp_path):
    names = ["xenbook-0.1.0-py3-none-any.whl", "click-8.1.0-py3-none-any.whl", "zz-1-py3-none-any.whl"]
    _wheels(tmp_path / "a", names)
    _wheels(tmp_path / "b", list(reversed(names)))
    info_a, info_b = wheelhouse.manifest(tmp_path / "a"), wheelhouse.manifest(tmp_path / "b")
    assert info_a == info_b and info_a["xenbook"] == names[0] and info_a["version"] == "0.1.0"
    wheelhouse.write_tar(tmp_path / "a", info_a, tmp_path / "a.tar")
    wheelhouse.write_tar(tmp_path / "b", info_b, tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(tmp_path / "a.tar") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(names) + ["manifest.json"]  # the manifest last
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
        assert json.load(io.BytesIO(tar.extractfile("manifest.json").read())) == info_a
    (tmp_path / "a" / "zz-1-py3-none-any.whl").write_bytes(b"other")
    assert wheelhouse.manifest(tmp_path / "a")["id"] != info_a["id"]


def test_the_wheelhouse_needs_exactly_one_xenbook_wheel(tmp_path):
    _wheels(tmp_path / "none", ["click-8.1.0-py3-none-any.whl"])
    with pytest.raises(SystemExit, match="one xenbook wheel"):
        wheelhouse.manifest(tmp_path / "none")
    _wheels(tmp_path / "two", ["xenbook-0.1.0-py3-none-any.whl", "xenbook-0.2.0-py3-none-any.whl"])
    with pytest.raises(SystemExit, match="one xenbook wheel"):
        wheelhouse.manifest(tmp_path / "two")


def test_the_wheelhouse_script_names_a_source_without_pyproject(tmp_path, capsys):
    with pytest.raises(SystemExit):
        wheelhouse.main(["--source", str(tmp_path), "--out", str(tmp_path / "wh")])
    assert f"--source {str(tmp_path)!r}: holds no pyproject.toml" in capsys.readouterr().err

"""A workspace per host (`xenbook init`, `xenbook lab --params`): the params file, clean copies of the section
notebooks reading it, the start page, runs/ with a latest link and an index; and the notebooks' values from the file."""

import json
import re
import os
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner

from xenbook.cli import workspace, workspace_commands
from xenbook.cli.main import main
from xenbook.core.errors import ParameterError
from xenbook.engine.registry import sections
from xenbook.report.runs import runs, write_index
from xenbook.ui import notebook
from xenbook.ui.start import START_NOTEBOOK

ROOT = Path(__file__).resolve().parents[1]


def xenbook(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def params_cell(path: Path) -> str:
    nb = json.loads(path.read_text())
    return "".join(next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))["source"])


def test_init_makes_the_params_file_clean_notebooks_reading_it_a_start_page_and_runs(tmp_path):
    code, out = xenbook("init", str(tmp_path / "xen1"), "--target", "ssh:root@xen1")
    assert code == 0, out
    ws = tmp_path / "xen1"
    assert yaml.safe_load((ws / "params.yaml").read_text()) == {"target": "ssh:root@xen1"}
    assert (ws / "runs").is_dir()
    for section in sections().values():
        copied = ws / section.notebook
        assert 'params_file: "Optional[str]" = "params.yaml"' in params_cell(copied), section.name
        nb = json.loads(copied.read_text())
        assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
        for cell in nb["cells"]:
            assert set(cell["metadata"]) <= {"tags"}
            assert not cell.get("outputs") and cell.get("execution_count") is None
    start = json.loads((ws / START_NOTEBOOK).read_text())
    intro = "".join(start["cells"][0]["source"])
    links = [s.notebook for s in sections().values()]
    assert [intro.index(f"({name})") for name in links] == sorted(intro.index(f"({name})") for name in links)
    assert "refreshed" not in out and "params.yaml: new, target ssh:root@xen1" in out


def test_init_copies_a_params_file_and_refuses_bad_input_before_making_anything(tmp_path):
    good = tmp_path / "xen1.yaml"
    good.write_text("target: sample\nboot:\n  dom0_mem: 4096M\n")
    assert xenbook("init", str(tmp_path / "a"), "--params", str(good))[0] == 0
    assert (tmp_path / "a" / "params.yaml").read_bytes() == good.read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("boot:\n  dom0_mem: lots\n")
    code, out = xenbook("init", str(tmp_path / "b"), "--params", str(bad))
    assert code == 2 and "dom0_mem" in out and not (tmp_path / "b").exists()
    code, out = xenbook("init", str(tmp_path / "c"), "--params", str(good), "--target", "local")
    assert code == 2 and "--target" in out and not (tmp_path / "c").exists()
    code, out = xenbook("init", str(tmp_path / "d"), "--target", "ftp:x")
    assert code == 2 and "target" in out and not (tmp_path / "d").exists()
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "thesis.tex").write_text("mine")
    code, out = xenbook("init", str(tmp_path / "e"))
    assert code == 2 and "no xenbook workspace" in out and sorted(os.listdir(tmp_path / "e")) == ["thesis.tex"]


def test_init_again_refreshes_unchanged_notebooks_and_keeps_edits_and_the_params_file(tmp_path):
    ws = tmp_path / "ws"
    xenbook("init", str(ws))
    (ws / "params.yaml").write_text("target: local\n")
    edited, stale = ws / "20-boot.ipynb", ws / "30-dom0.ipynb"
    edited.write_text(edited.read_text().replace("report = boot.run()", "report = boot.run()  # mine"))
    fresh = stale.read_text()
    stale.write_text(fresh.replace("xenbook", "xenbook-old-release"))  # what an older release copied
    mark = json.loads((ws / workspace.MARK).read_text())
    mark[stale.name] = workspace._digest(stale.read_bytes())
    (ws / workspace.MARK).write_text(json.dumps(mark))
    (ws / "10-install.ipynb").unlink()
    code, out = xenbook("init", str(ws))
    assert code == 0, out
    assert "# mine" in edited.read_text() and "20-boot.ipynb: kept" in out
    assert stale.read_text() == fresh and "30-dom0.ipynb: refreshed" in out
    assert (ws / "10-install.ipynb").exists() and "10-install.ipynb: copied" in out
    assert (ws / "params.yaml").read_text() == "target: local\n" and "params.yaml: kept" in out


def test_lab_opens_the_workspace_of_a_params_file_never_the_templates(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(workspace_commands.os, "execv", lambda exe, argv: calls.append(argv))
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "xen1.yaml"
    params.write_text("target: sample\n")
    code, out = xenbook("lab", "--params", str(params), "--no-browser", "--port", "8999", "--",
                        "--ServerApp.port_retries=0")
    assert code == 0, out
    argv = calls[-1]
    assert f"--ServerApp.root_dir={tmp_path / 'xen1'}" in argv and "--ServerApp.port_retries=0" in argv
    assert "--no-browser" in argv and "--port=8999" in argv
    assert f"--LabApp.default_url=/lab/tree/{START_NOTEBOOK}" in argv
    assert not any(str(workspace.notebooks_dir()) in a for a in argv)
    assert (tmp_path / "xen1" / "params.yaml").read_bytes() == params.read_bytes()
    code, out = xenbook("lab", "--params", str(tmp_path / "xen1" / "params.yaml"))  # the workspace's own file
    assert code == 0 and f"--ServerApp.root_dir={tmp_path / 'xen1'}" in calls[-1]
    assert not (tmp_path / "xen1" / "params").exists()
    (tmp_path / "xen1" / "old.yaml").write_text("target: sample\n")
    code, out = xenbook("lab", "--params", str(tmp_path / "xen1" / "old.yaml"))
    assert code == 2 and "whose parameters file is params.yaml" in out and not (tmp_path / "xen1" / "old").exists()


def test_lab_without_params_opens_the_sample_hosts_workspace_with_the_bundled_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(workspace_commands.os, "execv", lambda exe, argv: None)
    assert xenbook("lab", "--no-browser")[0] == 0
    made = tmp_path / "state/xenbook/workspaces/sample/params.yaml"
    assert made.read_bytes() == (ROOT / "examples/sample-host.yaml").read_bytes()
    assert workspace.sample_params().read_bytes() == made.read_bytes()


def _run(folder: Path, dry_run: bool, statuses: list[str], reboot: str = "") -> None:
    folder.mkdir(parents=True)
    (folder / "10-install.ipynb").write_text("{}")
    (folder / "report.json").write_text(json.dumps({
        "target": "sample", "dry_run": dry_run, "reboot_required": reboot,
        "steps": [{"section": "install", "name": f"s{i}", "status": s} for i, s in enumerate(statuses)]}))


def test_the_runs_index_ties_a_hosts_runs_together_across_a_reboot(tmp_path):
    runs_dir = tmp_path / "runs"
    _run(runs_dir / "20260101T000000Z", True, ["ok", "would-change"])
    _run(runs_dir / "20260101T000100Z", False, ["changed", "ok"], reboot="boot into Xen")
    _run(runs_dir / "20260101T000200Z", False, ["ok", "failed"])
    (runs_dir / "20260101T000300Z").mkdir()
    (runs_dir / "20260101T000300Z" / "30-dom0.ipynb").write_text("{}")  # a run killed before its report
    rows = write_index(runs_dir, runs_dir / "20260101T000300Z")
    assert [(r.kind, r.outcome.split(":")[0]) for r in rows] == [
        ("", "no report (the run stopped before it wrote one)"), ("apply", "failed"),
        ("apply", "reboot pending"), ("dry run", "would change")]
    assert os.readlink(runs_dir / "latest") == "20260101T000300Z"
    md = (runs_dir / "index.md").read_text()
    assert "[20260101T000100Z](20260101T000100Z/report.html) | apply | reboot pending: boot into Xen" in md
    assert "<a href=\"20260101T000200Z/10-install.ipynb\">" in (runs_dir / "index.html").read_text()
    assert len(runs(runs_dir)) == 4  # the latest link is no run of its own


def test_run_folders_of_a_workspace_are_its_runs_and_never_collide(tmp_path):
    xenbook("init", str(tmp_path / "ws"))
    params = str(tmp_path / "ws" / "params.yaml")
    first = Path(workspace.run_folder(params))
    assert first.parent == tmp_path / "ws" / "runs"
    first.mkdir()
    assert Path(workspace.run_folder(params)) != first
    other = tmp_path / "xen1.yaml"
    other.write_text("target: sample\n")
    assert workspace.run_folder(str(other)) is None and workspace.run_folder(None) is None


PARAMS = {"target": "sample:/the/host/h", "boot": {"dom0_mem": "3072M", "dom0_max_vcpus": None},
          "guests": [{"name": "a", "memory": 512}, {"name": "b"}]}


@pytest.fixture
def host_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({**PARAMS, "target": f"sample:{tmp_path / 'h'}"}))  # a form reads the host
    return path


def cell_values(section: str) -> dict:
    """A notebook's parameters cell left as it is: every value None but dry_run."""
    names = [line.split(":")[0] for line in params_cell(ROOT / "notebooks" / sections()[section].notebook)
             .splitlines()]
    return {n: (True if n == "dry_run" else None) for n in names if n not in ("params_file", "report_path")}


def test_a_notebook_left_as_it_is_reads_every_value_from_the_file(host_file):
    view = notebook.section("boot", params_file=str(host_file), **cell_values("boot"))
    assert view.params.target == f"sample:{host_file.parent / 'h'}" and view.params_file == str(host_file)
    assert view.params.boot.dom0_mem == "3072M" and view.params.boot.dom0_max_vcpus is None
    assert view.params.boot.loader == "auto"  # the model's default where the file says nothing
    over = notebook.section("boot", params_file=str(host_file), **{**cell_values("boot"), "dom0_mem": "4G"})
    assert over.params.boot.dom0_mem == "4G" and over.params.boot.dom0_max_vcpus is None


def test_a_guest_notebook_sets_up_the_files_guest_its_name_names(host_file):
    values = cell_values("domu")
    with pytest.raises(ParameterError, match="set name to the one to set up"):
        notebook.section("domu", params_file=str(host_file), **values)
    view = notebook.section("domu", params_file=str(host_file), **{**values, "name": "A"})
    assert [(g.name, g.memory) for g in view.params.guests] == [("a", 512)]


def test_an_apply_never_falls_back_to_the_sample_host(tmp_path):
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("boot:\n  dom0_mem: 3072M\n")
    values = {**cell_values("boot"), "dry_run": False}
    with pytest.raises(ParameterError, match="never falls back"):
        notebook.section("boot", params_file=str(nameless), **values)
    with pytest.raises(ParameterError, match="never falls back"):
        notebook.section("boot", **values)
    assert notebook.section("boot", params_file=str(nameless), **cell_values("boot")).params.target == "sample"


def test_the_form_is_prefilled_from_the_file(host_file):
    from xenbook.ui.widgets import SectionForm  # ipywidgets, as the notebook's form() imports it
    form = SectionForm(notebook.section("boot", params_file=str(host_file), **cell_values("boot")))
    assert form.inputs["dom0_mem"].value == "3072M" and form.inputs["target"].value == f"sample:{host_file.parent / 'h'}"


def test_init_cleans_a_plugins_notebook_and_says_when_it_reads_no_params_file(tmp_path, monkeypatch):
    from types import SimpleNamespace
    template = tmp_path / "35-motd.ipynb"
    template.write_text(json.dumps({
        "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"], "scrolled": True}, "execution_count": 3,
                   "source": "text: str = 'hi'", "outputs": [{"output_type": "stream", "text": "x"}]}],
        "metadata": {"widgets": {"state": {}}, "papermill": {}}, "nbformat": 4, "nbformat_minor": 4}))
    monkeypatch.setattr(workspace, "sections", lambda: {"motd": SimpleNamespace(notebook=template.name,
                                                                               notebook_path=lambda: template)})
    made = str(workspace.init(tmp_path / "ws"))
    assert "35-motd.ipynb: its parameters cell has no params_file: it does not read params.yaml" in made
    copied = json.loads((tmp_path / "ws" / template.name).read_text())
    assert copied["metadata"] == {} and copied["cells"][0]["metadata"] == {"tags": ["parameters"]}
    assert copied["cells"][0]["outputs"] == [] and copied["cells"][0]["execution_count"] is None


# a workspace's record of what init copied, as a careless hand or a crash may leave it
MARKS = ["", "{", "[1]", '{"10-install.ipynb": 3}', "null", "\xff"]


@pytest.mark.parametrize("text", MARKS)
def test_an_unreadable_record_of_what_init_copied_keeps_every_notebook(tmp_path, text):
    ws = tmp_path / "ws"
    assert xenbook("init", str(ws))[0] == 0
    edited = ws / "20-boot.ipynb"
    edited.write_text(edited.read_text().replace("report = boot.run()", "report = boot.run()  # mine"))
    (ws / workspace.MARK).write_bytes(text.encode("latin-1"))
    code, out = xenbook("init", str(ws))
    assert code == 0, out
    assert "unreadable, so every notebook here is kept" in out and "# mine" in edited.read_text()
    assert json.loads((ws / workspace.MARK).read_text()).keys() == set()  # nothing recorded as init's copy


@pytest.mark.parametrize("where", [".", "ws", "deeper/ws", "ws/../ws2"])
def test_a_workspace_is_never_made_inside_the_installed_notebooks(tmp_path, monkeypatch, where):
    templates = tmp_path / "installed"
    templates.mkdir()
    (templates / "10-install.ipynb").write_text("{}")
    monkeypatch.setattr(workspace, "notebooks_dir", lambda: templates)
    code, out = xenbook("init", str(templates / where))
    assert code == 2 and "is inside the installed notebooks" in out and "parameter DIR = " in out
    assert os.listdir(templates) == ["10-install.ipynb"]
    link = tmp_path / "link"
    link.symlink_to(templates, target_is_directory=True)  # through a link too
    assert xenbook("init", str(link / "ws"))[0] == 2 and os.listdir(templates) == ["10-install.ipynb"]


# run folders a careless or hostile hand may leave in runs/: each shown as text, each link a path below the index
HOSTILE_RUNS = ["javascript:alert(1)", "a b", "<img src=x onerror=alert(1)>", "x|y", "[x](http:evil)", "x\"onclick=\"y",
                "%2e%2e"]


@pytest.mark.parametrize("name", HOSTILE_RUNS)
def test_the_runs_index_shows_any_folder_name_as_text_and_links_below_itself(tmp_path, name):
    runs_dir = tmp_path / "runs"
    _run(runs_dir / name, False, ["changed"], reboot="<b>reboot</b> | now")
    write_index(runs_dir, runs_dir / name)
    page, md = (runs_dir / "index.html").read_text(), (runs_dir / "index.md").read_text()
    hrefs = re.findall(r'href="([^"]*)"', page) + re.findall(r"(?<!\\)\]\(([^)]*)\)", md)
    assert hrefs and all(h.split("/", 1)[0] == quote(name, safe="") for h in hrefs), hrefs
    assert "<img" not in page and "<b>reboot" not in page and "<img" not in md and "<b>reboot" not in md
    row = next(line for line in md.splitlines() if line.startswith("| ["))
    assert len(re.findall(r"(?<!\\)\|", row)) == 6, row  # five cells: no | of a name or an outcome splits one


@pytest.mark.parametrize("runs", ["file", "dangling link", "link to a file"])
def test_init_refuses_a_runs_that_is_no_folder(tmp_path, runs):
    ws = tmp_path / "ws"
    assert xenbook("init", str(ws))[0] == 0
    (ws / "runs").rmdir()
    {"file": lambda p: p.write_text("mine"), "dangling link": lambda p: p.symlink_to(tmp_path / "gone"),
     "link to a file": lambda p: p.symlink_to(ws / "params.yaml")}[runs](ws / "runs")
    code, out = xenbook("init", str(ws))
    assert code == 2 and "parameter DIR = " in out and "holds runs as something other than a folder" in out
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize("blocker", ["index.html", "index.md"])
def test_a_runs_index_that_cannot_be_written_is_reported_and_never_fails_the_run(tmp_path, blocker):
    ws = tmp_path / "ws"
    assert xenbook("init", str(ws))[0] == 0
    (ws / "runs" / blocker).mkdir()  # a folder where the index goes
    folder = Path(workspace.run_folder(str(ws / "params.yaml")))
    _run(folder, False, ["changed"])
    said = workspace.index_run(str(ws / "params.yaml"), folder, "sample")
    assert "runs index" in said and "was not updated" in said and str(folder) in said
    assert workspace.index_run(str(tmp_path / "elsewhere.yaml"), folder, "sample") == ""


def test_a_params_yaml_linked_to_a_file_elsewhere_is_still_its_workspaces(tmp_path, monkeypatch):
    kept = tmp_path / "hosts" / "xen1.yaml"
    kept.parent.mkdir()
    kept.write_text("target: sample\n")
    ws = tmp_path / "ws"
    assert xenbook("init", str(ws))[0] == 0
    (ws / "params.yaml").unlink()
    (ws / "params.yaml").symlink_to(kept)
    assert workspace.of(str(ws / "params.yaml")) == ws
    assert Path(workspace.run_folder(str(ws / "params.yaml"))).parent == ws / "runs"
    calls = []
    monkeypatch.setattr(workspace_commands.os, "execv", lambda exe, argv: calls.append(argv))
    monkeypatch.chdir(tmp_path)
    assert xenbook("lab", "--params", str(ws / "params.yaml"))[0] == 0
    assert f"--ServerApp.root_dir={ws}" in calls[-1] and not (tmp_path / "hosts" / "xen1").exists()


@pytest.mark.parametrize("args", [[], ["--params", "{ws}/params.yaml"]])
def test_a_folder_holding_only_the_hosts_params_yaml_becomes_its_workspace(tmp_path, args):
    ws = tmp_path / "xen1"
    ws.mkdir()
    (ws / "params.yaml").write_text("# mine\ntarget: sample\n")
    code, out = xenbook("init", str(ws), *[a.format(ws=ws) for a in args])
    assert code == 0, out
    assert (ws / "params.yaml").read_text() == "# mine\ntarget: sample\n" and "params.yaml: kept" in out
    assert (ws / workspace.MARK).is_file() and (ws / START_NOTEBOOK).is_file()


def test_a_lone_params_yaml_that_is_bad_input_leaves_its_folder_as_it_was(tmp_path):
    ws = tmp_path / "xen1"
    ws.mkdir()
    (ws / "params.yaml").write_text("boot:\n  dom0_mem: lots\n")
    code, out = xenbook("init", str(ws))
    assert code == 2 and "boot.dom0_mem = 'lots'" in out and os.listdir(ws) == ["params.yaml"]
    (ws / "params.yaml").write_text("boot:\n  dom0_mem: 4G\n")
    assert xenbook("init", str(ws))[0] == 0, "fixed, the folder becomes the workspace"

"""The section notebooks: thin (one parameters cell, no logic), and run unattended by papermill."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from xenbook.engine.params import RunbookParams, build
from xenbook.engine.registry import SECTIONS
from xenbook.ui.notebook import HOST_FIELDS, section_model
from xenbook.ui.paramcell import parameters_cell
from xenbook_sample import init_sample

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
FORBIDDEN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.AsyncFor, ast.Lambda,
             ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.If, ast.Try)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_thin(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0], "exactly one parameters cell, first"
    for line in tagged[0].source.splitlines():
        assert line.count("=") == 1, f"papermill skips parameter lines with a second '=': {line}"
        ast.parse(line)
    for cell in code:
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, FORBIDDEN), f"logic in a notebook cell: {ast.dump(node)[:60]}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any(n.split(".")[0] in ("subprocess", "os", "shutil") for n in names)
    assert code[-1].source.strip() == "report.raise_for_failures()"
    assert not any(c.get("outputs") for c in code), "commit notebooks without outputs"
    assert not any(c.get("execution_count") for c in code), "commit notebooks without execution counts"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, "commit notebooks without widget or run metadata"
    assert all(set(c.metadata) <= {"tags"} for c in nb.cells), "commit cells with no metadata but their tags"


@pytest.mark.parametrize("name", sorted(SECTIONS), ids=sorted(SECTIONS))
def test_parameters_cell_holds_the_sections_parameters_and_defaults(name):
    """Each notebook's parameters cell names its section's parameters (one guest's for domu), None (from the host's
    parameters file), with their defaults in the help."""
    section = SECTIONS[name]
    nb = nbformat.read(NOTEBOOKS[0].parent / section.notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    values = {n.target.id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body}
    model = section_model(section)
    fields = model.model_fields if model else {}
    assert set(values) - {*HOST_FIELDS, "report_path", "params_file"} == set(fields)
    for field, info in fields.items():  # None: the host's parameters file's value, else the default the help names
        default = info.get_default(call_default_factory=True)
        assert values[field] is None, field
        shown = json.dumps(default) if isinstance(default, str) else repr(default)
        line = next(line for line in cell.source.splitlines() if line.startswith(f"{field}:"))
        assert default is None or f"(default {shown})" in line, field
    assert cell.source == parameters_cell(section), "run python -m xenbook.ui.paramcell to write the cell anew"
    call = next(c for c in nb.cells if c.cell_type == "code" and "notebook.section(" in c.source)
    passed = {k.arg: k.value.id for n in ast.walk(ast.parse(call.source)) if isinstance(n, ast.Call)
              for k in n.keywords if isinstance(k.value, ast.Name)}
    assert {n: n for n in values} == {n: v for n, v in passed.items() if n in values}, \
        "the cell after the parameters hands notebook.section every parameter by its own name"


def run_notebook(name, tmp_path, target, **params):
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}.ipynb"
    report = tmp_path / "report.json"
    papermill.execute_notebook(str(NOTEBOOKS[0].parent / name), str(out), kernel_name="python3",
                               parameters={"target": target, "report_path": str(report), **params},
                               progress_bar=False)
    return json.loads(report.read_text()), out


def run_boot(tmp_path, target, **params):
    return run_notebook("20-boot.ipynb", tmp_path, target, **params)


def run_install(tmp_path, target, **params):
    return run_notebook("10-install.ipynb", tmp_path, target, **params)


@pytest.mark.slow
def test_install_notebook_plans_applies_and_converges(tmp_path):
    target = f"sample:{tmp_path / 'host'}"
    plan, _ = run_install(tmp_path, target)
    statuses = {s["name"]: s["status"] for s in plan["steps"]}
    assert statuses["AurPackageInstalled(xen)"] == "would-change" and statuses["XenInstalled"] == "skipped"
    assert not (tmp_path / "host/var/lib/xenbook").exists(), "a dry run wrote to the host"
    applied, out = run_install(tmp_path, target, dry_run=False, xen_edk2=True)
    assert {s["status"] for s in applied["steps"]} == {"changed", "ok"}
    assert (tmp_path / "host/usr/lib/xen/boot/ovmf.bin").exists() and (tmp_path / "host/boot/xen.gz").exists()
    again, _ = run_install(tmp_path, target, dry_run=False, xen_edk2=True)
    assert {s["status"] for s in again["steps"]} == {"ok"}
    run_cell = next(c for c in nbformat.read(out, as_version=4).cells if c.source.startswith("report = "))
    assert "SIMULATED host" in json.dumps(run_cell.outputs)


@pytest.mark.slow
def test_boot_notebook_plans_applies_and_converges(tmp_path):
    target = f"sample:{tmp_path / 'host'}"
    run_install(tmp_path, target, dry_run=False)  # a new sample host has no Xen to boot
    plan, out = run_boot(tmp_path, target)
    assert plan["dry_run"] and plan["simulated"]
    assert "would-change" in {s["status"] for s in plan["steps"]}
    assert not (tmp_path / "host/var/lib/xenbook/pending/GrubConfig").exists(), "a dry run wrote to the host"
    applied, _ = run_boot(tmp_path, target, dry_run=False, dom0_mem="3G", console="com1,vga", com1="115200,8n1")
    assert "changed" in {s["status"] for s in applied["steps"]}
    again, _ = run_boot(tmp_path, target, dry_run=False, dom0_mem="3G", console="com1,vga", com1="115200,8n1")
    assert {s["status"] for s in again["steps"]} == {"ok"}
    cfg = (tmp_path / "host/boot/grub/grub.cfg").read_text()
    assert "dom0_mem=3G,max:3G dom0_max_vcpus=2 console=com1,vga com1=115200,8n1" in cfg
    run_cell = next(c for c in nbformat.read(out, as_version=4).cells if c.source.startswith("report = "))
    html = json.dumps(run_cell.outputs)
    assert "SIMULATED host" in html


@pytest.mark.slow
def test_boot_notebook_fails_on_bad_input_before_touching_the_host(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="dom0_mem"):
        run_boot(tmp_path, f"sample:{tmp_path / 'host'}", dom0_mem="lots")
    assert not (tmp_path / "host").exists()


@pytest.mark.slow
def test_xenbook_run_leaves_notebooks_and_report(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", "run", "--target", f"sample:{tmp_path / 'h'}",
                           "--sections", "install,boot", "--apply", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "10-install.ipynb").exists() and (out / "20-boot.ipynb").exists()
    assert (out / "report.html").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["simulated"] and "changed" in {s["status"] for s in report["steps"]}
    assert "SIMULATED host" in (out / "report.html").read_text()


@pytest.mark.parametrize("name", list(SECTIONS), ids=list(SECTIONS))
def test_papermill_shows_every_parameters_type_and_help(name):
    """papermill --help-notebook reads the parameters cell's annotations: each parameter has a type and a help."""
    inferred = papermill.inspect_notebook(str(NOTEBOOKS[0].parent / SECTIONS[name].notebook))
    untyped = [p for p, info in inferred.items() if info["inferred_type_name"] in ("None", "", None)]
    assert not untyped, f"parameters papermill sees no type for: {untyped}"
    assert all(info["help"] for info in inferred.values())
    cell_names = [line.split(":")[0] for line in parameters_cell(SECTIONS[name]).splitlines()]
    assert list(inferred) == cell_names, "papermill reads every line of the cell"


# the notebooks' words: purpose, prerequisites and steps first, the history in a short note at the end

STEP_MENTION = re.compile(r"`([A-Z][a-z]+[A-Za-z0-9]*)(?:\(…\))?`")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
VARIANTS = [  # together they reach every step a section can have
    {"guests": [{"name": "dom01", "ssh_key": KEY}], "manage": {"manager": "libvirt"}},
    {"boot": {"uefi_entry": "efibootmgr"}, "dom0": {"xendomains": True},
     "guests": [{"name": "dom01", "ssh_key": KEY, "autostart": True},
                {"name": "hvm1", "type": "hvm", "iso": "/srv/arch.iso", "bootstrap": "none", "storage": "image"},
                {"name": "old1", "state": "absent"}],
     "pv_guest": {"vm_uuid": "0b7f6e1a-0000-4000-8000-000000000001", "xenfs": True, "agent_source": "repo"},
     "manage": {"action": "pause", "domain": "dom01", "manager": "libvirt", "libvirt_package": "libvirt"}},
    {"target": "ssh:root@xen1.example.org"},  # boot.first_boot once by default: the one-time boot steps
    {"target": "ssh:root@xen1.example.org", "boot": {"uefi_entry": "efibootmgr"}}]
PROFILES = ("bios-grub2", "bios-grub-legacy", "uefi-systemd-boot", "arch-guest")


@pytest.fixture(scope="module")
def section_step_names(tmp_path_factory):
    """section -> the names of every step it makes on the sample profiles with the variants (without subjects)."""
    names: dict[str, set[str]] = {}
    for profile in PROFILES:
        host = init_sample(str(tmp_path_factory.mktemp("words") / profile), profile=profile)
        for variant in VARIANTS:
            params = build(RunbookParams, variant)
            for name, section in SECTIONS.items():
                names.setdefault(name, set()).update(s.name.split("(")[0] for s in section.steps(params, host))
    names["boot"].add("BootLoaderKnown")  # a host with no loader xenbook knows
    return names


def markdown_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_opens_with_purpose_prerequisites_and_steps(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.stem[:2]} · ")
    assert re.findall(r"^## (.+)$", first.source, re.M) == ["Purpose", "Prerequisites", "Steps"]
    purpose = first.source.split("## Purpose\n")[1].split("\n## ")[0].strip()
    assert 1 <= len(purpose.splitlines()) <= 4, "the purpose in two or three lines"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_ends_with_a_short_background_note(path):
    cells = markdown_cells(path)
    note = cells[-1].source
    assert note.startswith("## Background: the 2010 guide\n") and len(note.splitlines()) <= 8
    assert all("2010" not in c.source for c in cells[:-1]), "the history stays in the note"


@pytest.mark.parametrize("name", sorted(SECTIONS), ids=sorted(SECTIONS))
def test_notebook_lists_the_sections_real_steps(name, section_step_names):
    first = markdown_cells(NOTEBOOKS[0].parent / SECTIONS[name].notebook)[0].source
    listed = set(STEP_MENTION.findall(first.split("\n## Steps\n")[1]))
    real = section_step_names[name]
    assert real - listed == set(), "steps the notebook does not list"
    assert listed - real == set(), "names the notebook lists that are no step of the section"

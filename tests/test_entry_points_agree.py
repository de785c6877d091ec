"""`xenbook apply`, `xenbook run` (the notebooks through papermill) and the workspace's notebooks opened as they are
(executed with no injected parameters, as a person's Run All) read the same whole parameter set: on the same file and
host, whichever converged first, the others change nothing after it, in every order of any two of them."""

import json
import subprocess
import sys

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from xenbook.engine.registry import sections

# Not the defaults: the dom0 notebook must see the boot section's dom0_mem and dom0_vcpus_pin (they decide
# xl.conf's vm.cpumask and the memory dom0 is checked against after the reboot).
PARAMS = {"sections": ["install", "boot", "dom0"],
          "boot": {"dom0_mem": "3072M", "dom0_max_vcpus": 1, "dom0_vcpus_pin": True}}


def xenbook(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def apply(host, params):
    target = ["--target", f"sample:{host}"] if host else []  # without a host: the file's target
    code, out = xenbook("apply", *target, "--params", str(params), "--json")
    return code, json.loads(out[out.index("{"):out.rindex("}") + 1]) if "{" in out else out


def run(host, params, out_dir):
    target = ["--target", f"sample:{host}"] if host else []
    code, out = xenbook("run", *target, "--params", str(params), "--apply", "--out", str(out_dir))
    report = json.loads((out_dir / "report.json").read_text()) if (out_dir / "report.json").exists() else out
    return code, report


def reboot(host):
    code, out = xenbook("reboot", "--target", f"sample:{host}")
    assert code == 0, out


def changed(report):
    return [f"{s['name']}: {s['reason']}" for s in report["steps"] if s["status"] not in ("ok", "skipped")]


@pytest.fixture
def params(tmp_path):
    path = tmp_path / "xen1.yaml"
    path.write_text(yaml.safe_dump(PARAMS))
    return path


def notebooks(ws, n, apply_them=True):
    """The workspace's notebooks of PARAMS's sections, run in order as a person runs them: each as it is, or with
    dry_run set to False in its parameters cell (apply_them); one cell appended keeps the report. The combined
    report, and 3 when a section stopped for a reboot, like `xenbook run`."""
    steps, reboot = [], ""
    for name in PARAMS["sections"]:
        nb = nbformat.read(ws / sections()[name].notebook, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert 'params_file: "Optional[str]" = "params.yaml"' in cell.source
        if apply_them:
            cell.source = cell.source.replace("dry_run: bool = True", "dry_run: bool = False")
        saved = ws.parent / f"nb{n}-{name}.json"
        nb.cells.insert(-1, nbformat.v4.new_code_cell(f"report.save({str(saved)!r})"))
        NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(ws)}}).execute()
        report = json.loads(saved.read_text())
        steps += report["steps"]
        if report["reboot_required"]:
            reboot = report["reboot_required"]
            break
    return (3 if reboot else 0), {"steps": steps, "reboot_required": reboot}


@pytest.fixture
def workspace(tmp_path, params):
    """A sample host and a workspace whose params.yaml names it: every entry point reads that one file."""
    host = tmp_path / "h"
    code, out = xenbook("sample", "init", str(host))
    assert code == 0, out
    params.write_text(yaml.safe_dump({"target": f"sample:{host}", **PARAMS}))
    code, out = xenbook("init", str(tmp_path / "ws"), "--params", str(params))
    assert code == 0, out
    return host, tmp_path / "ws"


@pytest.mark.slow
@pytest.mark.parametrize("first", ["apply", "run", "notebooks"])
def test_apply_run_and_the_notebooks_agree_in_every_order(tmp_path, workspace, first):
    """FIRST converges (through the reboot into Xen); then the other two, then FIRST again, change nothing: over
    the three cases every ordered pair of entry points occurs. Last, each notebook as it is plans nothing to do."""
    host, ws = workspace
    file = ws / "params.yaml"
    go = {"apply": lambda n: apply(None, file),
          "run": lambda n: run(None, file, tmp_path / f"run{n}"),
          "notebooks": lambda n: notebooks(ws, n)}
    code, report = go[first](1)
    assert code == 3, report  # the reboot into Xen
    reboot(host)
    code, report = go[first](2)
    assert code == 0, report
    assert "dom0 has" not in json.dumps(report)
    others = [e for e in go if e != first]
    for n, entry in enumerate(others + [first], 3):
        code, report = go[entry](n)
        assert code == 0 and not changed(report), (entry, changed(report) if code == 0 else report)
    code, report = notebooks(ws, 9, apply_them=False)  # opened and run as they are: a plan with nothing to do
    assert code == 0 and not changed(report), changed(report)
    conf = (host / "etc/xen/xl.conf").read_text()
    assert 'vm.cpumask="all,^0"' in conf
    templates = {s.notebook: s.notebook_path().read_bytes() for s in sections().values()}
    assert all(b'"params.yaml"' not in raw and b'"outputs": []' in raw for raw in templates.values())


@pytest.mark.slow
def test_run_hands_every_notebook_the_whole_parameter_set(tmp_path, params):
    host = tmp_path / "h"
    xenbook("sample", "init", str(host))
    code, _ = run(host, params, tmp_path / "run")
    assert code == 3
    whole = yaml.safe_load((tmp_path / "run" / "params.yaml").read_text())
    assert whole["boot"]["dom0_mem"] == "3072M" and whole["target"] == f"sample:{host}"
    dom0 = json.loads((tmp_path / "run" / "30-dom0.ipynb").read_text())
    injected = next(c for c in dom0["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert "params_file" in "".join(injected["source"])


@pytest.mark.slow
def test_a_changed_dom0_mem_is_a_reboot_not_a_failure(tmp_path):
    params = tmp_path / "xen1.yaml"  # the bridge is the lifecycle tier's: this test reboots twice for the memory
    params.write_text(yaml.safe_dump({**PARAMS, "dom0": {"network": "none"}}))
    host = tmp_path / "h"
    xenbook("sample", "init", str(host))
    assert apply(host, params)[0] == 3
    reboot(host)
    assert apply(host, params)[0] == 0
    code, out = xenbook("apply", "--target", f"sample:{host}", "--params", str(params), "--set",
                        "boot.dom0_mem=4096M")
    assert code == 3, out
    assert "dom0 has" in out and "4096 MiB is set now" in out
    reboot(host)
    code, out = xenbook("apply", "--target", f"sample:{host}", "--params", str(params), "--set",
                        "boot.dom0_mem=4096M")
    assert code == 0 and "4096 MiB" in out, out

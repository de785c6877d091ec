"""`xenbook apply` and `xenbook run` (the notebooks through papermill) read the same whole parameter set: on the
same file and host, in either order, the second changes nothing after the first converged."""

import json
import subprocess
import sys

import pytest
import yaml

# Not the defaults: the dom0 notebook must see the boot section's dom0_mem and dom0_vcpus_pin (they decide
# xl.conf's vm.cpumask and the memory dom0 is checked against after the reboot).
PARAMS = {"sections": ["install", "boot", "dom0"],
          "boot": {"dom0_mem": "3072M", "dom0_max_vcpus": 1, "dom0_vcpus_pin": True}}


def xenbook(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def apply(host, params):
    code, out = xenbook("apply", "--target", f"sample:{host}", "--params", str(params), "--json")
    return code, json.loads(out[out.index("{"):out.rindex("}") + 1]) if "{" in out else out


def run(host, params, out_dir):
    code, out = xenbook("run", "--target", f"sample:{host}", "--params", str(params), "--apply", "--out",
                        str(out_dir))
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


@pytest.mark.slow
@pytest.mark.parametrize("first", ["apply", "run"])
def test_apply_and_run_agree_in_either_order(tmp_path, params, first):
    host = tmp_path / "h"
    code, out = xenbook("sample", "init", str(host))
    assert code == 0, out
    go = {"apply": lambda n: apply(host, params),
          "run": lambda n: run(host, params, tmp_path / f"run{n}")}
    code, report = go[first](1)
    assert code == 3, report  # the reboot into Xen
    reboot(host)
    code, report = go[first](2)
    assert code == 0, report
    assert "dom0 has" not in json.dumps(report)
    second = "run" if first == "apply" else "apply"
    code, report = go[second](3)
    assert code == 0 and not changed(report), changed(report) if code == 0 else report
    conf = (host / "etc/xen/xl.conf").read_text()
    assert 'vm.cpumask="all,^0"' in conf


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

"""A section is one folder and one notebook: a throwaway section in a temporary package, registered under the
xenbook.sections entry points and edited nowhere else, is picked up by the CLI (plan, apply, --sections, --set),
by `xenbook run` (its notebook through papermill) and by the host report, in its runbook place."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]

PACKAGE = '''
"""A throwaway section: the message of the day."""

from pydantic import Field

from xenbook.core.document import Code, Part
from xenbook.core.model import Model
from xenbook.core.section import Section
from xenbook.core.step import FileStep


class MotdParams(Model):
    """What /etc/motd says."""

    text: str = Field("A Xen host", description="the message of the day")


class MotdFile(FileStep):
    section, name, path = "motd", "MotdFile", "/etc/motd"

    def __init__(self, text):
        self.text = text

    def render(self, host, old):
        return self.text + "\\n"


def motd_steps(params, host):
    return [MotdFile(params.motd.text)]


def motd_parts(host, params, checked):
    return [Part("Message of the day", [Code("/etc/motd", host.read_text("/etc/motd") or "(none)")])]


SECTION = Section("motd", 35, "The message of the day", "35-motd.ipynb", motd_steps, "motd", MotdParams,
                  report=motd_parts, notebooks_package="throwaway_section")
'''

CODE = """from xenbook.ui import notebook

view = notebook.section("motd", report_path=report_path, params_file=params_file, target=target, dry_run=dry_run,
                        sudo=sudo, ssh_config=ssh_config, text=text)
report = view.run()
report.raise_for_failures()"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """PYTHONPATH holding the throwaway package, its notebook and the dist-info whose entry point registers it."""
    root = tmp_path_factory.mktemp("plugin")
    pkg = root / "throwaway_section"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PACKAGE)
    info = root / "throwaway_section-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-section\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[xenbook.sections]\nmotd = throwaway_section:SECTION\n")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(root)!r})
        from throwaway_section import SECTION
        from xenbook.ui.paramcell import parameters_cell
        print(parameters_cell(SECTION))
    """)
    cell = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 35 · The message of the day"),
                nbformat.v4.new_code_cell(cell.strip(), metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, pkg / "35-motd.ipynb")
    return root


def xenbook(plugin_path, *args, check=0):
    env = {**os.environ, "PYTHONPATH": str(plugin_path)} if plugin_path else {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == check, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture
def host(tmp_path):
    d = tmp_path / "host"
    xenbook(None, "sample", "init", str(d))
    return d


def test_the_parameters_cell_comes_from_the_sections_model(plugin):
    nb = nbformat.read(plugin / "throwaway_section" / "35-motd.ipynb", as_version=4)
    assert 'text: "Optional[str]" = None  # the message of the day (default "A Xen host")' in nb.cells[1].source


def test_the_cli_plans_and_applies_the_section_in_its_runbook_place(plugin, host):
    plan = json.loads(xenbook(plugin, "plan", "-t", f"sample:{host}", "--json").stdout)
    order = list(dict.fromkeys(s["section"] for s in plan["steps"]))
    assert order.index("dom0") < order.index("motd") < order.index("domu"), order
    applied = json.loads(xenbook(plugin, "apply", "-t", f"sample:{host}", "-s", "motd", "--set", "motd.text=Hello",
                                 "--json").stdout)
    assert [(s["name"], s["status"]) for s in applied["steps"]] == [("MotdFile", "changed")]
    assert (host / "etc/motd").read_text() == "Hello\n"
    again = json.loads(xenbook(plugin, "apply", "-t", f"sample:{host}", "-s", "motd", "--set", "motd.text=Hello",
                               "--json").stdout)
    assert [(s["name"], s["status"]) for s in again["steps"]] == [("MotdFile", "ok")]


def test_without_its_entry_point_the_section_is_unknown(host):
    proc = xenbook(None, "plan", "-t", f"sample:{host}", "-s", "motd", check=2)
    assert "unknown section 'motd'" in proc.stderr


@pytest.mark.slow
def test_xenbook_run_executes_its_notebook_and_the_host_report_shows_its_part(plugin, host, tmp_path):
    out = tmp_path / "run"
    xenbook(plugin, "run", "-t", f"sample:{host}", "-s", "motd", "--set", "motd.text=From the notebook", "--apply",
            "--out", str(out))
    assert (out / "35-motd.ipynb").exists()
    report = json.loads((out / "report.json").read_text())
    assert [(s["section"], s["name"], s["status"]) for s in report["steps"]] == [("motd", "MotdFile", "changed")]
    assert (host / "etc/motd").read_text() == "From the notebook\n"
    page = tmp_path / "report.html"
    xenbook(plugin, "report", "-t", f"sample:{host}", "--out", str(page))
    html = page.read_text()
    assert "Message of the day" in html and "From the notebook" in html
    assert html.index("dom0: services") < html.index("Message of the day") < html.index("Guests")

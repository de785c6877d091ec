"""The runbook in a real browser: JupyterLab serving the section notebooks, Debian's chromium clicking through the
boot section's form on a sample host (plan, apply, plan again), then the manage section's dashboard."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
TIMEOUT = 180_000  # ms: a cold kernel and a section run on a busy 2-core machine


def _xenbook(*args: str, expected: int = 0) -> None:
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300)
    assert proc.returncode == expected, f"xenbook {' '.join(args)}: {proc.returncode}\n{proc.stdout}{proc.stderr}"


def xen_host_with_guest(state, name: str):
    """A sample host STATE/hosts/NAME through install, boot and dom0, rebooted into Xen, with the guest dom01 (its
    parameters file STATE/NAME.yaml); returns the host's folder."""
    host = state / "hosts" / name
    params = state / f"{name}.yaml"
    params.write_text(f"target: sample:{host}\nguests:\n  - name: dom01\n    ssh_key: {KEY}\n")
    _xenbook("sample", "init", str(host))
    _xenbook("apply", "--params", str(params), "--sections", "install,boot,dom0", expected=3)
    _xenbook("reboot", "--target", f"sample:{host}")
    _xenbook("apply", "--params", str(params), "--sections", "dom0,domu")
    return host


@pytest.fixture(scope="module")
def sample_host(lab_workspace):
    """A sample host through install, boot and dom0 (with the notebooks' defaults), rebooted into Xen, with a
    guest; the notebooks' copies get it as their target in a papermill-injected parameters cell."""
    root, state = lab_workspace
    host = xen_host_with_guest(state, "xen1")
    for notebook in (root / "20-boot.ipynb", root / "60-manage.ipynb"):
        if notebook.exists():
            nb = load_notebook_node(str(notebook))
            nbformat.write(parameterize_notebook(nb, {"target": f"sample:{host}"}), notebook)
    return host


PROGRESS = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
    const error = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    if (error && /Traceback|Error/.test(error.textContent)) return 'error: ' + error.textContent.slice(0, 2000);
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p)) ? 'done' : '';
}"""


def _settle_kernel(page, seconds: float = 3.0) -> None:
    """Wait until the notebook's kernel is idle and no kernel dialog comes up for SECONDS. JupyterLab asks for a
    kernel when its kernel list was not loaded in time; the preselected Python 3 is the right answer."""
    idle = page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle"))
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    quiet_since, deadline = None, time.monotonic() + TIMEOUT / 1000
    while time.monotonic() < deadline:
        if dialog.count() and dialog.first.is_visible():
            dialog.get_by_role("button", name="Select").click()
            quiet_since = None
        elif idle.count():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= seconds:
                return
        page.wait_for_timeout(250)
    raise AssertionError("the notebook's kernel never became idle")


def _open_and_run_all(page, lab, notebook: str) -> None:
    """Open NOTEBOOK, run all its cells from the Run menu, and wait until every code cell has run."""
    page.goto(lab.url(notebook))
    page.locator(".jp-Notebook").first.wait_for()
    _settle_kernel(page)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
    state = page.wait_for_function(PROGRESS, timeout=TIMEOUT).json_value()
    assert state == "done", f"{notebook}: a cell failed: {state}"


def _status(page):
    """The form's status line: the last report's one-line summary."""
    return page.locator(".widget-html-content", has_text=re.compile(r"\[SIMULATED host\], (dry run|apply):")).first


def test_boot_form_plans_applies_and_converges(sample_host, lab, chromium, artifacts):
    from playwright.sync_api import expect
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "20-boot.ipynb")
        page.screenshot(path=artifacts / "20-boot-1-ran.png", full_page=True)
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                            has_text="Traceback").count() == 0
        injected = page.locator(".jp-Cell", has_text="# Parameters").first
        expect(injected).to_contain_text(f'target = "sample:{sample_host}"')

        field = page.locator(".widget-text", has=page.locator("label", has_text=re.compile(r"^dom0 memory$")))
        field.locator("input").fill("3072M")
        field.locator("input").press("Tab")
        page.get_by_role("button", name="Plan").click()
        expect(_status(page)).to_contain_text("dry run:")
        expect(_status(page)).to_contain_text("would-change")
        form_output = page.locator(".widget-output").first
        expect(form_output).to_contain_text("dom0_mem=3072M,max:3072M")
        expect(form_output.locator("pre span", has_text=re.compile(r"^\+.*dom0_mem=3072M")).first).to_be_visible()
        page.screenshot(path=artifacts / "20-boot-2-plan.png", full_page=True)
        assert "dom0_mem=3072M" not in (sample_host / "etc/default/grub").read_text(), "a plan wrote to the host"

        page.get_by_text("yes, change this host").click()
        page.get_by_role("button", name="Apply").click()
        expect(_status(page)).to_contain_text("apply:")
        expect(_status(page)).to_contain_text("changed")
        page.screenshot(path=artifacts / "20-boot-3-applied.png", full_page=True)
        assert "dom0_mem=3072M,max:3072M" in (sample_host / "etc/default/grub").read_text()

        page.get_by_role("button", name="Plan").click()
        expect(_status(page)).to_have_text(re.compile(r"dry run: \d+ ok$"))
        page.screenshot(path=artifacts / "20-boot-4-plan-again.png", full_page=True)
    except Exception:
        page.screenshot(path=artifacts / "20-boot-failed.png", full_page=True)
        raise
    finally:
        page.close()


def test_manage_dashboard_shows_domains_and_a_chart(sample_host, lab, chromium, artifacts):
    from playwright.sync_api import expect
    assert (lab.root / "60-manage.ipynb").exists(), "the lab has no 60-manage.ipynb"
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "60-manage.ipynb")
        table = page.locator("table", has=page.locator("td", has_text=re.compile(r"^Domain-0$"))).first
        expect(table).to_be_visible()
        expect(table).to_contain_text("dom01")
        chart = page.locator(".jp-OutputArea-output img").first
        expect(chart).to_be_visible()
        assert chart.evaluate("img => img.naturalWidth") > 100, "the chart image did not load"
        table.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "60-manage-1-table.png")
        chart.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "60-manage-2-chart.png")
    except Exception:
        page.screenshot(path=artifacts / "60-manage-failed.png", full_page=True)
        raise
    finally:
        page.close()

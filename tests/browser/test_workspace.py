"""A host's workspace in a real browser: `xenbook lab --params xen1.yaml` (no browser, a port and token the test
chooses) makes the workspace beside the file and opens JupyterLab at its start page; the start page shows each
section's status on the host, the runs are one click away, and the boot notebook run as it is reads the host's file
and finds nothing to do. The installed notebooks (the templates) keep their bytes."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.browser.conftest import QUIET, Lab
from tests.browser.test_jupyterlab import TIMEOUT, _open_and_run_all, _settle_kernel
from xenbook.engine.registry import sections

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]


def _xenbook(*args: str, expected: int = 0) -> str:
    proc = subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=300)
    assert proc.returncode == expected, f"xenbook {' '.join(args)}: {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def host_lab(tmp_path_factory, artifacts):
    """A sample host set up (install, boot, dom0, rebooted into Xen) from xen1.yaml, and `xenbook lab --params
    xen1.yaml` serving the workspace it made, with one dry run in its runs/."""
    base = tmp_path_factory.mktemp("workspace-lab")
    host, params = base / "hosts" / "xen1", base / "xen1.yaml"
    params.write_text(f"target: sample:{host}\nsections: [install, boot, dom0]\n"
                      "boot:\n  dom0_mem: 3072M\n  dom0_max_vcpus: 1\n  dom0_vcpus_pin: true\n")
    _xenbook("sample", "init", str(host))
    _xenbook("apply", "--params", str(params), expected=3)
    _xenbook("reboot", "--target", f"sample:{host}")
    _xenbook("apply", "--params", str(params))
    templates = {s.notebook: s.notebook_path().read_bytes() for s in sections().values()}
    (base / "state").mkdir()
    server = Lab(base / "xen1", base / "state", artifacts / "workspace-jupyterlab.log", command=lambda port: [
        *XENBOOK, "lab", "--params", str(params), "--no-browser", "--port", str(port), "--", *QUIET])
    _xenbook("run", "--params", str(base / "xen1" / "params.yaml"), "--sections", "install,boot")
    yield server, host, templates
    server.stop()


def test_xenbook_lab_opens_the_hosts_workspace_at_its_start_page(host_lab, chromium, artifacts):
    from playwright.sync_api import expect
    lab, host, templates = host_lab
    assert (lab.root / "params.yaml").read_text().startswith(f"target: sample:{host}")
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(f"{lab.base}/?token={lab.token}")  # the server's default URL: the start page
        page.wait_for_url(re.compile(r"/lab/tree/00-start\.ipynb"))
        page.locator(".jp-Notebook").first.wait_for()
        _settle_kernel(page)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()
        table = page.locator(".jp-OutputArea-output table").first
        expect(table).to_contain_text("20-boot.ipynb")
        expect(table).to_contain_text(re.compile(r"\d+ ok"))  # the ledger's last apply of each section
        expect(table).to_contain_text("dry run:")  # the workspace's latest run
        rows = table.locator("tr")
        titles = [rows.nth(i).locator("td").first.inner_text() for i in range(1, rows.count())]
        assert titles == [s.title for s in sections().values() if s.name in ("install", "boot", "dom0")]
        page.screenshot(path=artifacts / "workspace-1-start-page.png", full_page=True)

        browser = page.locator(".jp-DirListing-content")
        for name in ("params.yaml", "runs", "20-boot.ipynb"):
            expect(browser.get_by_text(name, exact=True).first).to_be_visible()
        browser.get_by_text("runs", exact=True).first.dblclick()
        expect(browser.get_by_text("latest", exact=True).first).to_be_visible()
        expect(browser.get_by_text("index.md", exact=True).first).to_be_visible()
        page.screenshot(path=artifacts / "workspace-2-runs.png", full_page=True)
        browser.get_by_text("latest", exact=True).first.dblclick()
        expect(browser.get_by_text("report.html", exact=True).first).to_be_visible()
        expect(browser.get_by_text("20-boot.ipynb", exact=True).first).to_be_visible()
        page.screenshot(path=artifacts / "workspace-3-latest-run.png", full_page=True)
    except Exception:
        page.screenshot(path=artifacts / "workspace-start-failed.png", full_page=True)
        raise
    finally:
        page.close()
    assert {s.notebook: s.notebook_path().read_bytes() for s in sections().values()} == templates


def test_the_boot_notebook_as_it_is_reads_the_hosts_file_and_plans_nothing(host_lab, chromium, artifacts):
    from playwright.sync_api import expect
    lab, host, templates = host_lab
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "20-boot.ipynb")
        field = page.locator(".widget-text", has=page.locator("label", has_text=re.compile(r"^dom0 memory$")))
        expect(field.locator("input")).to_have_value("3072M")  # the form is prefilled from params.yaml
        report = page.locator(".jp-OutputArea-output", has_text=re.compile(r"dry run: \d+ ok")).first
        expect(report).to_be_visible()
        assert "would-change" not in report.inner_text()
        page.screenshot(path=artifacts / "workspace-4-boot-from-the-file.png", full_page=True)
    except Exception:
        page.screenshot(path=artifacts / "workspace-boot-failed.png", full_page=True)
        raise
    finally:
        page.close()
    assert {s.notebook: s.notebook_path().read_bytes() for s in sections().values()} == templates

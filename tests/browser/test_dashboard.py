"""The manage section's dashboard in a real browser, as a virt-manager user would use it: a guest that is shut off
is listed with a Start button, starts, and its console opens in the page on the sample host's simulated login
prompt. Screenshots of each stage are kept as artifacts."""

from __future__ import annotations

import re

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from tests.browser.test_jupyterlab import TIMEOUT, _open_and_run_all, _xenbook, xen_host_with_guest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def shut_off_guest(lab_workspace):
    """A sample host on Xen with the guest dom01 created, then shut down: defined (its /etc/xen/dom01.cfg) but off."""
    root, state = lab_workspace
    host = xen_host_with_guest(state, "xen-dash")
    _xenbook("apply", "--params", str(state / "xen-dash.yaml"), "--sections", "manage", "--set", "manage.action=shutdown",
             "--set", "manage.domain=dom01", "--set", "manage.snapshot=false")
    notebook = root / "60-manage.ipynb"
    nb = load_notebook_node(str(notebook))
    nbformat.write(parameterize_notebook(nb, {"target": f"sample:{host}", "samples": 2, "refresh_seconds": 0.5}),
                   notebook)
    return host


def _row(page, name: str, button: str):
    """The dashboard's row of guest NAME that offers BUTTON (the innermost box holding both; its cells' text runs
    together, "dom01" then the empty id, then the state)."""
    return page.locator(".widget-hbox", has=page.get_by_role("button", name=button, exact=True)).filter(
        has_text=re.compile(rf"^\s*{re.escape(name)}")).last


def test_a_shut_off_guest_is_listed_starts_and_opens_its_console(shut_off_guest, lab, chromium, artifacts):
    from playwright.sync_api import expect
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "60-manage.ipynb")
        row = _row(page, "dom01", "Start")
        expect(row).to_contain_text("shut off")
        expect(page.locator(".widget-html", has_text="efi-xen.cfg").first).to_contain_text("Not guests")
        row.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "dashboard-1-shut-off.png")

        row.get_by_role("button", name="Start", exact=True).click()
        running = _row(page, "dom01", "Console")
        expect(running).to_contain_text(re.compile(r"idle|running"))
        page.screenshot(path=artifacts / "dashboard-2-started.png")

        running.get_by_role("button", name="Console", exact=True).click()
        screen = page.locator("pre.xenbook-console")
        expect(screen).to_contain_text("dom01 login:")
        expect(page.get_by_text("Ctrl+]").first).to_be_visible()
        typed = page.get_by_placeholder("type a line, Enter sends it")
        typed.fill("root")
        typed.press("Enter")
        expect(screen).to_contain_text("Password:")
        screen.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "dashboard-3-console.png")
        page.get_by_role("button", name="Ctrl+] (leave)").click()
        expect(page.get_by_text(re.compile(r"xl console dom01 ended \(exit 0\)"))).to_be_visible()
    except Exception:
        page.screenshot(path=artifacts / "dashboard-failed.png", full_page=True)
        raise
    finally:
        page.close()

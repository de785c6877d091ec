"""The install section's form in a real browser: a bad value shows one line beside its field and disables Apply, and
an Apply shows its progress live (the step, a ticking clock, the AUR build's lines) with the form disabled until it
ends. The simulated build takes XENBOOK_SAMPLE_BUILD_SECONDS per package, raised here so lines arrive while it runs."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from tests.browser.conftest import Lab
from tests.browser.test_jupyterlab import TIMEOUT, _open_and_run_all

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BUILD_SECONDS = "4"  # per package: xen, then xen-qemu, so the form is seen mid-build


@pytest.fixture(scope="module")
def lab(lab_workspace, artifacts):
    root, state = lab_workspace
    server = Lab(root, state, artifacts / "jupyterlab-forms.log", build_seconds=BUILD_SECONDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fresh_host(lab_workspace):
    """A new sample host (no Xen yet); the install notebook's copy gets it as its target."""
    root, state = lab_workspace
    host = state / "hosts" / "fresh"
    proc = subprocess.run([sys.executable, "-m", "xenbook.cli.main", "sample", "init", str(host)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notebook = root / "10-install.ipynb"
    nbformat.write(parameterize_notebook(load_notebook_node(str(notebook)), {"target": f"sample:{host}"}), notebook)
    return host


def test_install_form_shows_a_bad_value_in_one_line_and_an_apply_live(fresh_host, lab, chromium, artifacts):
    from playwright.sync_api import expect
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "10-install.ipynb")
        form = page.locator(".xenbook-form").first
        apply = form.get_by_role("button", name="Apply")
        expect(form).to_contain_text("Packages")  # a group's title
        expect(form).to_contain_text("parallel make jobs; empty for the CPU count")  # the help under a field

        jobs = form.locator(".widget-text", has=page.locator("label", has_text=re.compile(r"^make jobs$")))
        jobs.locator("input").fill("many")
        jobs.locator("input").press("Tab")
        error = form.locator(".xenbook-error")
        expect(error).to_have_count(1)
        expect(error).to_have_text("jobs = 'many': must be a whole number, e.g. 2")
        assert "\n" not in error.inner_text() and "Input should" not in form.inner_text()
        expect(apply).to_be_disabled()
        jobs.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "10-install-1-bad-value.png")
        jobs.locator("input").fill("")
        jobs.locator("input").press("Tab")
        expect(error).to_have_count(0)
        expect(apply).to_be_enabled()

        form.get_by_text("yes, change this host").click()
        apply.click()
        live, log = form.locator(".xenbook-live"), form.locator(".xenbook-log")
        expect(live).to_contain_text("applying, ")
        expect(log).to_contain_text("Making package: xen ", timeout=120_000)
        expect(apply).to_be_disabled()  # still building xen-qemu
        expect(form.get_by_role("button", name="Plan")).to_be_disabled()
        first = live.inner_text()
        page.wait_for_timeout(1500)
        assert live.inner_text() != first, f"the clock did not tick while the kernel was busy: {first!r}"
        assert re.search(r"applying, (after|step \d+ of \d+:) .+, \d+:\d\d", live.inner_text())
        log.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "10-install-2-applying.png")

        status = form.locator(".xenbook-status")
        expect(status).to_contain_text("apply:", timeout=TIMEOUT)
        expect(status).to_contain_text("changed")
        expect(apply).to_be_enabled()
        expect(form).to_contain_text(re.compile(r"applied in \d+:\d\d"))
        page.screenshot(path=artifacts / "10-install-3-applied.png", full_page=True)
        assert list((fresh_host / "var/lib/pacman/local").glob("xen-4*")), "xen is not installed on the host"
    except Exception:
        page.screenshot(path=artifacts / "10-install-failed.png", full_page=True)
        raise
    finally:
        page.close()

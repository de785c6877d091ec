"""The reports in a real browser: no line wider than the page, and "changed only" hiding the ok and skipped rows,
in a static report.html (the run's and the host report) and in a notebook's output in JupyterLab, where no script
runs."""

from __future__ import annotations

import nbformat
import pytest

from tests.test_report_html import host_document, sample_report
from xenbook.cli.run import _page
from xenbook.report.page import to_html as host_html

pytestmark = [pytest.mark.browser]

TIMEOUT = 180_000  # ms, for JupyterLab on a busy machine
WIDE = """() => [document.documentElement.scrollWidth, window.innerWidth]"""
SCROLLED = """() => [...document.querySelectorAll('pre, code, td, table')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.tagName + ': ' + e.textContent.slice(0, 60))"""
VISIBLE = """sel => [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0).length"""


def _check_page(page, quiet: str, rows: str, label: str) -> None:
    width, inner = page.evaluate(WIDE)
    assert width <= inner, f"a line is wider than the page: {width}px in {inner}px"
    assert page.evaluate(SCROLLED) == [], "a line is wider than its box (it scrolls sideways)"
    total, hidden = page.evaluate(VISIBLE, rows), page.locator(quiet).count()
    assert hidden and page.evaluate(VISIBLE, quiet) == hidden, "quiet rows show until the box is ticked"
    page.get_by_text(label).click()
    assert page.evaluate(VISIBLE, quiet) == 0 and page.evaluate(VISIBLE, rows) == total - hidden
    page.get_by_text(label).click()
    assert page.evaluate(VISIBLE, rows) == total


@pytest.mark.parametrize("kind", ["run", "host"])
def test_static_report_wraps_and_filters(kind, chromium, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(_page(sample_report()) if kind == "run" else host_html(host_document()))
    page = chromium.new_page(viewport={"width": 700, "height": 900}, java_script_enabled=False)
    try:
        page.goto(path.as_uri())
        if kind == "run":
            _check_page(page, "tr.xb-quiet", "table.xb-steps tr:has(td)", "changed only")
        else:
            _check_page(page, "tr.quiet", "section tr:has(td)", "changed only")
    finally:
        page.close()


NOTEBOOK_REPORT = """from xenbook.engine.results import Report, StepResult
long = " ".join(f"option{i}=value{i}" for i in range(120))
Report("sample:/x", simulated=True, dry_run=False, steps=[
    StepResult("install", "BuildToolsInstalled", "ok", "installed"),
    StepResult("install", "RepoPackagesInstalled", "skipped", "no HVM guests"),
    StepResult("boot", "GrubDefaults", "changed", "the Xen command line",
               diffs=[{"path": "/etc/default/grub", "diff": "-a\\n+" + long + "\\n"}],
               commands=["grub-mkconfig -o " + "/very/long/path" * 60]),
    StepResult("preflight", "Iommu", "ok", "found", verdict="ok", value="yes"),
    StepResult("preflight", "Memory", "ok", "little", verdict="warning", value="1 GiB")])"""


@pytest.mark.slow
def test_the_filter_works_in_a_notebooks_output(lab, chromium, artifacts):
    """JupyterLab runs no script from an output: the box and its CSS rule alone hide the rows."""
    from tests.browser.test_jupyterlab import _open_and_run_all
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_REPORT)]
    nbformat.write(nb, lab.root / "report-filter.ipynb")
    page = chromium.new_page(viewport={"width": 1000, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        _open_and_run_all(page, lab, "report-filter.ipynb")
        output = page.locator(".jp-OutputArea-output .xb-report").first
        output.wait_for()
        assert output.evaluate("e => e.scrollWidth <= e.clientWidth"), "the report is wider than the output"
        _check_page(page, ".xb-report tr.xb-quiet", ".xb-report table.xb-steps tr:has(td)", "changed only")
        page.screenshot(path=artifacts / "report-filter.png", full_page=True)
    except Exception:
        page.screenshot(path=artifacts / "report-filter-failed.png", full_page=True)
        raise
    finally:
        page.close()


@pytest.mark.slow
def test_an_untrusted_output_keeps_lines_inside_and_hides_the_dead_filter(lab, chromium, artifacts):
    """A notebook executed elsewhere (as `xenbook run` leaves them) opens untrusted: JupyterLab drops the <style> and
    disables the box; the inline styles still wrap every line, and the box stays hidden rather than dead."""
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_REPORT)]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    nbformat.write(nb, lab.root / "report-executed.ipynb")
    page = chromium.new_page(viewport={"width": 1000, "height": 1000})
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(lab.url("report-executed.ipynb"))
        output = page.locator(".jp-OutputArea-output .xb-report").first
        output.wait_for()
        assert output.locator("style").count() == 0, "JupyterLab kept the stylesheet: this output is trusted"
        assert output.evaluate("e => e.scrollWidth <= e.clientWidth"), "the report is wider than the output"
        assert page.evaluate(SCROLLED) == []
        assert not output.locator("input").is_visible() and not output.get_by_text("changed only").is_visible()
        page.screenshot(path=artifacts / "report-untrusted.png", full_page=True)
    except Exception:
        page.screenshot(path=artifacts / "report-untrusted-failed.png", full_page=True)
        raise
    finally:
        page.close()

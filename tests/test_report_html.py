"""`xenbook report`: one self-contained page (and a Markdown twin) describing the host's Xen setup, secrets hidden."""

import base64
import json
import os
import re
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser

import pytest

from tests.test_cli import tree_hashes
from xenbook.connectors.fake import FakeHost
from xenbook.core.actions import WriteFile
from xenbook.core.document import Code, Document, Part, Table
from xenbook.engine import ledger
from xenbook.engine.params import RunbookParams
from xenbook.report import host as hostreport
from xenbook.report.page import to_html, to_markdown
from xenbook.safety.redact import MASK, redact
from xenbook.sections.manage.steps import DASHBOARD_DIR
from xenbook_sample import SampleHost

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7xenbookTestKeyOnlyForTests admin@example"
HASH = "$6$reportsalt$Q9H1cYVb1oJQZ0H0wqXrWmW0k6vYl3b0p8dI5yqzv9M5FJm0C3s8Ff1nq2xW9yWb2vT3sQ0xY7zR4uV6aB8cD."
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'


def xenbook(*args, env=None):
    proc = subprocess.run(XENBOOK + [str(a) for a in args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    return proc


class Page(HTMLParser):
    """Tags, outside references and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.refs, self.text = [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v and not v.startswith(("#", "data:"))]

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def xen_host(tmp_path_factory):
    """A sample host with every section applied (install, boot, dom0, the reboot, one guest)."""
    d = tmp_path_factory.mktemp("report") / "h"
    assert xenbook("sample", "init", d).returncode == 0
    assert xenbook("apply", "--target", f"sample:{d}", "--sections", "install,boot,dom0").returncode == 3
    assert xenbook("reboot", "--target", f"sample:{d}").returncode == 0
    params = d.parent / "host.yaml"
    params.write_text(f"target: sample:{d}\nguests:\n  - name: dom01\n    ssh_key: {KEY}\n"
                      "    root_password_hash_env: XENBOOK_REPORT_HASH\n")
    done = xenbook("apply", "--params", params, "--sections", "domu", env={"XENBOOK_REPORT_HASH": HASH})
    assert done.returncode == 0, done.stdout + done.stderr
    return d


@pytest.fixture(scope="module")
def written(xen_host):
    out = xen_host.parent / "out" / "xen1.html"
    proc = xenbook("report", "--target", f"sample:{xen_host}", "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"wrote {out} and {out.with_suffix('.md')}" in proc.stdout
    return out.read_text(), out.with_suffix(".md").read_text()


@pytest.mark.slow
def test_the_page_is_self_contained(written):
    html, _ = written
    page = Page(html)
    assert page.refs == [], "the page points outside itself"
    assert "script" not in page.tags and "link" not in page.tags and "style" in page.tags
    assert html.startswith("<!doctype html>") and "<meta charset='utf-8'>" in html


@pytest.mark.slow
def test_the_page_describes_the_setup(written, xen_host):
    html, md = written
    for text in (unescape(html), md):
        assert "SIMULATED host" in text
        assert "CpuVirtualization" in text and "RunningUnderXen" in text  # the preflight, checked now
        assert "dom0_mem=2048M,max:2048M" in text  # the Xen command line from the boot files
        assert "--id xenbook-xen" in text and "GRUB_CMDLINE_XEN_DEFAULT" in text
        assert 'autoballoon="off"' in text and "xenstored.service" in text
        assert "00-xenbook-xenbr0.netdev" in text  # the bridge
        assert 'name = "dom01"' in text  # the guest's config
        for section in ("install", "boot", "dom0", "domu"):
            assert f"{section} / " in text
        assert "+# BEGIN xenbook multilib" in text  # a diff applied, rebuilt from the backup
        assert "differs from the recorded digest" not in text and "the file changed since" not in text
        assert "/etc/fstab: the diff cannot be rebuilt: the file is not on the host now" in text  # the guest's
        assert "GuestRunning(dom01)" in text and "RebootIntoXen" in text
    assert "<h2>Dashboard snapshots</h2>" in html and "## Ledger: runs and events" in md
    assert HASH not in html + md and "reportsalt" not in html + md


@pytest.mark.slow
def test_a_hand_edited_file_is_not_passed_off_as_the_applied_diff(xen_host, tmp_path):
    conf = xen_host / "etc/xen/xl.conf"
    kept = conf.read_bytes()
    try:
        conf.write_bytes(kept + b"# edited by hand\n")
        doc = hostreport.build(SampleHost(str(xen_host)), RunbookParams(target=f"sample:{xen_host}"))
        text = to_html(doc)
        assert "/etc/xen/xl.conf: the diff cannot be rebuilt: the file changed since" in text
        assert "# edited by hand" not in text.split("Changes applied")[1].split("Boot: the Xen entry")[0]
    finally:
        conf.write_bytes(kept)


@pytest.mark.slow
def test_dashboard_snapshots_are_embedded(xen_host, tmp_path):
    folder = xen_host / DASHBOARD_DIR.lstrip("/")
    folder.mkdir(parents=True)
    try:
        (folder / "memory.svg").write_bytes(SVG)
        (folder / "memory.txt").write_text("Memory per domain\n")
        (folder / "cpu.png").write_bytes(b"\x89PNG...")
        text = to_html(hostreport.build(SampleHost(str(xen_host)), RunbookParams(target=f"sample:{xen_host}")))
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    assert "<figcaption>Memory per domain</figcaption>" in text
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(SVG).decode()}"' in text
    assert "<figcaption>cpu</figcaption>" in text  # no caption file: the name


@pytest.mark.slow
def test_with_parameters_the_report_also_plans_every_section(xen_host, tmp_path):
    out = tmp_path / "r.html"
    before = tree_hashes(xen_host)
    proc = xenbook("report", "--target", f"sample:{xen_host}", "--sections", "boot,dom0", "--out", out)
    assert proc.returncode == 0, proc.stderr
    md = out.with_suffix(".md").read_text()
    assert "| section | step | last recorded | when | plan now |" in md
    assert re.search(r"\| boot \| GrubDefaults \| changed \| [^|]+ \| ok \|", md)  # changed once, as wanted now
    # marked, then rebooted: Xen runs as set, and the next apply removes the record of the reboot
    assert re.search(r"\| dom0 \| RebootIntoXen \| changed \| [^|]+ \| would-change \|", md)
    assert tree_hashes(xen_host) == before, "a report wrote to the host"


def test_a_fresh_host_has_nothing_to_show_yet(tmp_path):
    d = tmp_path / "fresh"
    assert xenbook("sample", "init", d).returncode == 0
    proc = xenbook("report", "--target", f"sample:{d}", "--out", tmp_path / "fresh.html")
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "fresh.md").read_text()
    assert "The ledger records no change yet." in md and "No xenbook boot entry was found." in md
    assert "No guest configuration written by xenbook." in md
    assert not (d / "var/lib/xenbook/ledger.jsonl").exists()


def test_secrets_in_shown_files_are_masked():
    text = (f"root:{HASH}:19000::::::\nPassword = hunter2\npassword_pbkdf2 root grub.pbkdf2.sha512.10000.ABCD\n"
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
            "GRUB_CMDLINE_XEN_DEFAULT=\"dom0_mem=2048M\"\n")
    shown = redact(text)
    for secret in ("reportsalt", "hunter2", "grub.pbkdf2", "b3BlbnNzaC1rZXktdjEAAAAA"):
        assert secret not in shown
    assert shown.count(MASK) == 4 and 'GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=2048M"' in shown


def test_diffs_come_back_only_when_their_digest_matches():
    host = FakeHost({"/etc/a.conf": "new\n", "/var/lib/xenbook/backups/r/etc/a.conf": "old\n"})
    diff = WriteFile("/etc/a.conf", b"old\n", b"new\n").diff()
    end = {"kind": "end", "id": "r/1/1", "writes": [{"path": "/etc/a.conf", "created": False,
                                                      "before": "/var/lib/xenbook/backups/r/etc/a.conf",
                                                      "after": ledger.digest(b"new\n"), "diff": ledger.digest(diff)}]}
    assert hostreport.applied_diffs(host, [end]) == {("r/1/1", "/etc/a.conf"): (diff, "")}
    end["writes"][0]["diff"] = ledger.digest("something else")
    assert hostreport.applied_diffs(host, [end])[("r/1/1", "/etc/a.conf")][1].startswith(" (rebuilt; it differs")
    host.files["/etc/a.conf"] = b"changed by hand\n"
    assert hostreport.applied_diffs(host, [end])[("r/1/1", "/etc/a.conf")][0] is None
    assert json.dumps(end)  # records are plain data


def test_the_markdown_twin_keeps_fences_whole():
    md = to_markdown(Document("t", "s", [], [Part("p", [Code("c", "```\ninside\n```\n")])]))
    assert "````text\n```\ninside\n```\n````" in md


# one status per row, no line wider than the page, the "changed only" filter

LONG = "GRUB_CMDLINE_XEN_DEFAULT=\"" + " ".join(f"option{i}=value{i}" for i in range(120)) + "\""


def sample_report():
    """A report with every kind of row: quiet ones, changes with a long diff and command, a failure, checks."""
    from xenbook.engine.results import Report, StepResult
    diff = f"--- a/etc/default/grub\n+++ b/etc/default/grub\n@@ -1 +1 @@\n-{LONG[:40]}\n+{LONG}\n"
    return Report("sample:/x", simulated=True, dry_run=False, steps=[
        StepResult("install", "BuildToolsInstalled", "ok", "base-devel and git are installed"),
        StepResult("install", "RepoPackagesInstalled", "skipped", "no HVM guests"),
        StepResult("boot", "GrubDefaults", "changed", "the Xen command line", diffs=[{"path": "/etc/default/grub",
                                                                                     "diff": diff}],
                   commands=["grub-mkconfig -o /boot/grub/grub.cfg " + "/very/long/path" * 60]),
        StepResult("boot", "GrubConfig", "would-change", "regenerate grub.cfg"),
        StepResult("dom0", "XlConf", "failed", "x" * 3000, remedy="fix it"),
        StepResult("preflight", "Iommu", "ok", "found", verdict="ok", value="yes"),
        StepResult("preflight", "Memory", "ok", "little", verdict="warning", value="1 GiB"),
        StepResult("preflight", "CpuVirtualization", "failed", "off", verdict="blocking", value="missing")])


class Rows(HTMLParser):
    """The rows of the steps table (their class and cells' text), and where the filter's input sits."""

    def __init__(self, text: str):
        super().__init__()
        self.rows, self.order, self.cell = [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "table", "label"):
            self.order.append((tag, attrs))
        if tag == "tr":
            self.rows.append((attrs.get("class") or "", []))
        if tag == "td":
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1][1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_a_run_report_row_shows_one_status_and_quiet_rows_are_marked():
    from xenbook.engine.results import STATUSES, VERDICTS, to_html
    page = Rows(to_html(sample_report()))
    rows = [(cls, cells) for cls, cells in page.rows if cells]  # the header row has th cells only
    assert [cells[2] for _, cells in rows] == ["ok", "skipped", "changed", "would-change", "failed", "ok", "warning",
                                               "failed"]
    assert all(cells[2] in STATUSES + VERDICTS for _, cells in rows)
    assert [cls == "xb-quiet" for cls, _ in rows] == [True, True, False, False, False, True, False, False]
    assert "verdict: blocking" in rows[-1][1][3]  # a failed check still says what its verdict was


def test_the_changed_only_filter_is_css_on_a_checkbox_before_the_table():
    from xenbook.engine.results import REPORT_CSS, to_html
    text = to_html(sample_report())
    assert "<script" not in text and "onclick" not in text, "a notebook's output runs no script"
    assert ".xb-report input.xb-only-changed:checked~table tr.xb-quiet{display:none}" in REPORT_CSS
    order = Rows(text).order
    assert [tag for tag, _ in order] == ["input", "label", "table"], "the box is the table's earlier sibling"
    (_, box), (_, label) = order[0], order[1]
    assert box["type"] == "checkbox" and "checked" not in box and label["for"] == box["id"]
    # without the stylesheet (JupyterLab drops it from an untrusted notebook's output) the box is hidden, not dead
    assert box["style"] == label["style"] == "display:none"
    assert ".xb-report input.xb-only-changed{display:inline-block!important}" in REPORT_CSS
    assert "hide 3 ok or skipped" in text
    assert to_html(sample_report()).count(box["id"]) == 0, "two reports on one page need their own boxes"
    lone = to_html(sample_report().__class__("t", False, True, steps=sample_report().steps[:2]))
    assert "every step is ok or skipped" in lone
    assert "xb-only-changed" not in to_html(sample_report().__class__("t", False, True)).split("</style>")[1]


def test_long_lines_wrap_in_the_run_report():
    from xenbook.engine.results import REPORT_CSS, to_html
    text = to_html(sample_report())
    css = REPORT_CSS.replace(" ", "")
    assert "table-layout:fixed" in css and "width:100%" in css
    assert "white-space:pre-wrap" in css and "overflow-wrap:anywhere" in css
    assert 'white-space:pre-wrap;overflow-wrap:break-word">' in text  # the diff's own style, wherever it is shown
    # inline too, for an untrusted notebook's output: overflow-wrap is inherited, the table's layout is its own
    assert '<div class="xb-report" style="max-width:100%;overflow-wrap:break-word">' in text
    assert '<table class="xb-steps" style="width:100%;table-layout:fixed;border-collapse:collapse">' in text


def host_document():
    return Document("Xen on t", "sub", ["SIMULATED host"], [
        Part("Sections and steps", [Table(["section", "step", "last recorded", "when", "plan now"], [
            ["install", "BuildToolsInstalled", "ok", "t1", "ok"], ["boot", "GrubDefaults", "changed", "t1", "ok"],
            ["boot", "GrubConfig", "skipped", "t1", ""], ["dom0", "RebootIntoXen", "ok", "t1", "would-change"]])]),
        Part("Changes applied", [Code("/etc/default/grub", f"-old\n+{LONG}\n", diff=True),
                                 Code("commands", "grub-mkconfig -o " + "/very/long/path" * 60)]),
        Part("dom0: services", [Table(["unit", "package", "at boot", "now"],
                                      [["xenstored.service", "xen", "enabled", "active"]])])])


def test_the_host_report_marks_quiet_rows_of_status_tables_only():
    text = to_html(host_document())
    rows = [(cls, cells) for cls, cells in Rows(text).rows if cells]
    assert [cls for cls, _ in rows] == ["quiet", "", "quiet", "", ""], "the units' row is no step: never hidden"
    assert "#changed-only:checked~section tr.quiet{display:none}" in text
    assert "<input type='checkbox' id='changed-only'>" in text and "for='changed-only'" in text
    assert "white-space:pre-wrap;overflow-wrap:anywhere" in text and "overflow-x:auto" not in text
    md = to_markdown(host_document())
    assert "changed only" not in md and "<input" not in md and "quiet" not in md  # the twin stays plain Markdown
    assert "| boot | GrubDefaults | changed | t1 | ok |" in md


def test_host_text_in_any_field_of_a_run_report_stays_text():
    from xenbook.engine.results import Report, StepResult, to_html
    bad = '<script>alert(1)</script><label for="x">'
    step = StepResult(bad, bad, bad, bad, diffs=[{"path": bad, "diff": bad}], commands=[bad], remedy=bad,
                      validated=[bad], unvalidated=[bad], output=bad, verdict=bad, value=bad)
    report = Report(bad, True, True, steps=[step], reboot_required=bad, ledger_skipped=[bad],
                    interrupted=[{"section": bad, "step": bad, "run": bad, "started": bad}])
    text = to_html(report)
    assert "<script" not in text and '<label for="x">' not in text and text.count("<label") == 1

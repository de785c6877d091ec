"""The contracts of validation, the lock, the ledger and the report, as cases of the tier: a missing validator
fails its step unless allowed (the report then says "not validated"), a regenerated grub.cfg is checked; a lock's
holder is alive only with its pid's start time, a malformed ledger record is skipped and reported, `xenbook reboot`
takes the lock, `sample init --force` wipes only a sample host; the Markdown report escapes host text."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest
from markdown_it import MarkdownIt

from tests.test_ledger import MALFORMED, XENBOOK, DemoFile, demo_host, records
from tests.test_runner import GoodShell, arch_host, hide_tools, statuses
from tests.test_sample import run_cli
from xenbook.core.document import Code, Document, Heading, Part, Table
from xenbook.core.errors import ParameterError, TargetError
from xenbook.engine import ledger, lock
from xenbook.engine.params import RunbookParams, build
from xenbook.engine.runner import Runner
from xenbook.report.page import to_markdown
from xenbook.sections.boot.params import BootParams
from xenbook.sections.boot.steps import grub2_steps
from xenbook_sample import init_sample

COUNTED = {}  # test name -> its category in the tier's summary line

HOSTILE_TEXT = ['<script>alert("os-release")</script>', "<img src=x onerror=alert(1)>", "# not a heading",
                "1. not a list", "a | b", "[link](javascript:alert(1))", "*bold* _em_ `code` ~~gone~~ \\"]


@pytest.fixture(autouse=True)
def _counted(request, tally):
    yield
    tally[COUNTED[request.node.originalname]] += 1


def test_sample_reboot_takes_the_lock_as_an_apply_does(tmp_path):
    d = tmp_path / "h"
    subprocess.run(XENBOOK + ["sample", "init", str(d)], check=True, capture_output=True)
    (d / "var/lib/xenbook").mkdir(parents=True, exist_ok=True)
    holder = lock.Holder("busy-run", os.getpid(), socket.gethostname(), "2026-01-01T00:00:00Z", f"sample:{d}")
    (d / "var/lib/xenbook/lock").write_bytes(holder.to_bytes())
    state = (d / ".xenbook-sample/state.json").read_bytes()
    args = XENBOOK + ["reboot", "--target", f"sample:{d}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and f"holds sample:{d}'s lock at /var/lib/xenbook/lock" in proc.stderr, proc.stderr
    assert (d / ".xenbook-sample/state.json").read_bytes() == state, "rebooted while an apply held the lock"
    (d / "var/lib/xenbook/lock").unlink()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "[simulated] rebooted" in proc.stdout, proc.stderr
    assert not (d / "var/lib/xenbook/lock").exists()


COUNTED["test_sample_reboot_takes_the_lock_as_an_apply_does"] = "ledger and lock cases"


def test_malformed_ledger_records_are_reported_and_skipped_not_a_crash_on_every_run():
    host = demo_host()
    Runner(host, dry_run=False).run([DemoFile("new\n")])
    good = host.files[ledger.LEDGER]
    host.files[ledger.LEDGER] = good + b"\n".join(MALFORMED) + b"\n"
    for text in ("newer\n", "newest\n"):
        report = Runner(host, dry_run=False).run([DemoFile(text)])
        assert report.count("changed") == 1 and not report.interrupted
        first = len(good.splitlines()) + 1
        assert report.ledger_skipped[:2] == [f"{ledger.LEDGER} line {first} is not JSON (torn by a crash, or "
                                             "edited): skipped", f"{ledger.LEDGER} line {first + 1} is not a JSON "
                                             "object: skipped"]
        assert f"line {first + 2} lacks or mistypes run, time, step: skipped" in report.ledger_skipped[2]
        assert "lacks or mistypes writes[0]" in report.ledger_skipped[3]
        assert "lacks or mistypes counts" in report.ledger_skipped[4]
        assert "5 malformed ledger record(s) skipped" in report.summary()
        assert "<b>Ledger</b>: " in report._repr_html_()
    assert all(ledger.malformed(r) is None for r in records(host))


COUNTED["test_malformed_ledger_records_are_reported_and_skipped_not_a_crash_on_every_run"] = "ledger and lock cases"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_a_zombie_or_a_reused_pid_is_not_a_live_holder():
    zombie = subprocess.Popen(["true"])  # never waited for: it ends and stays a zombie
    deadline = time.monotonic() + 10
    while b") Z " not in open(f"/proc/{zombie.pid}/stat", "rb").read() and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        held = lock.Holder("zombie-run", zombie.pid, socket.gethostname(), "2026-01-01T00:00:00Z", "fake",
                           lock.boot_id())
        assert held.alive_here() is False
        host = demo_host()
        host.makedirs("/var/lib/xenbook")
        host.create_exclusive(lock.LOCK, held.to_bytes())
        with pytest.raises(lock.LockHeld, match=f"pid {zombie.pid} no longer runs"):
            Runner(host, dry_run=False).run([DemoFile("new\n")])
        ledger.unlock(host, "zombie-run")
    finally:
        zombie.wait()
    mine = lock.me("r", "fake")
    assert mine.start and mine.alive_here() is True
    assert lock.Holder.parse(mine.to_bytes()) == mine
    reused = lock.Holder("old-run", os.getpid(), mine.host, mine.since, "fake", mine.boot, str(int(mine.start) - 1))
    assert reused.alive_here() is False, "a process that started at another time holds the old run's pid"


COUNTED["test_a_zombie_or_a_reused_pid_is_not_a_live_holder"] = "ledger and lock cases"


def test_init_force_wipes_only_a_real_sample_host_and_the_messages_say_force(tmp_path):
    host = init_sample(str(tmp_path / "s"))
    with pytest.raises(TargetError, match=r"already holds a sample host; open it, or recreate it with --force"):
        init_sample(host.root)
    code, _, err = run_cli("sample", "init", host.root)
    assert code != 0 and f"xenbook sample init {host.root} --force" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(TargetError, match="not a sample host made by xenbook.*--force does not change that"):
        init_sample(str(mine), force=True)
    (mine / ".xenbook-sample").symlink_to(tmp_path / "s" / ".xenbook-sample")  # the marker of another tree
    code, _, err = run_cli("sample", "init", str(mine), "--force")
    assert code != 0 and "symbolic link: --force wipes only a directory that is a sample host" in err
    assert (mine / "notes.txt").read_text() == "keep me"
    (mine / ".xenbook-sample").unlink()
    (mine / ".xenbook-sample").mkdir()
    (mine / ".xenbook-sample" / "state.json").symlink_to(tmp_path / "s" / ".xenbook-sample" / "state.json")
    with pytest.raises(TargetError, match="state.json is a symbolic link"):
        init_sample(str(mine), force=True)
    assert (mine / "notes.txt").read_text() == "keep me" and host.exists("/etc/default/grub")


COUNTED["test_init_force_wipes_only_a_real_sample_host_and_the_messages_say_force"] = "ledger and lock cases"


def test_regenerated_grub_cfg_is_checked_by_the_runner():
    if shutil.which("grub-script-check") is None:
        pytest.skip("grub-script-check is not installed")
    report = Runner(arch_host(), dry_run=False).run(grub2_steps(BootParams()))
    assert report.steps[-1].validated == ["grub-script-check"]


COUNTED["test_regenerated_grub_cfg_is_checked_by_the_runner"] = "validation cases"


def test_regenerated_grub_cfg_fails_when_grub_script_check_is_missing(monkeypatch):
    hide_tools(monkeypatch, "grub-script-check")
    report = Runner(arch_host(), dry_run=False, allow_unvalidated=["grub-custom"]).run(grub2_steps(BootParams()))
    assert statuses(report)["GrubXenEntry"] == "changed"  # 40_custom went unchecked, as allowed
    regen = report.steps[-1]
    assert regen.name == "GrubConfig" and regen.status == "failed", regen
    assert "grub-script-check (the grub-script check) is not installed on fake" in regen.reason
    allowed = Runner(arch_host(), dry_run=False, allow_unvalidated=["grub-script", "grub-custom"]).run(
        grub2_steps(BootParams()))
    assert statuses(allowed)["GrubConfig"] == "changed"
    assert allowed.steps[-1].unvalidated and "grub-script-check is not installed" in allowed.steps[-1].unvalidated[0]


COUNTED["test_regenerated_grub_cfg_fails_when_grub_script_check_is_missing"] = "validation cases"


def test_a_plan_for_an_ssh_target_says_which_checks_only_the_apply_makes(monkeypatch):
    hide_tools(monkeypatch, "bash")
    host = arch_host()
    host.target, host.over_network = "ssh:dom0", True
    step = Runner(host, dry_run=True).run([GoodShell()]).steps[0]
    assert step.status == "would-change"
    assert step.unvalidated == ["bash is not installed on this machine, so the plan did not check /etc/default/grub;"
                                " the apply checks it on ssh:dom0"]


COUNTED["test_a_plan_for_an_ssh_target_says_which_checks_only_the_apply_makes"] = "validation cases"


def test_an_allowed_missing_validator_writes_and_the_report_says_not_validated(monkeypatch):
    hide_tools(monkeypatch, "bash")
    host = arch_host()
    report = Runner(host, dry_run=False, allow_unvalidated=["shell"]).run([GoodShell()])
    step = report.steps[0]
    assert step.status == "changed" and step.validated == []
    assert step.unvalidated == ["bash is not installed on fake (the shell check; allow_unvalidated lists it)"]
    assert b'GRUB_TIMEOUT="5"' in host.files["/etc/default/grub"]
    assert "1 not validated" in report.summary()
    assert "not validated</b>: bash is not installed" in report._repr_html_()
    assert json.loads(report.to_json())["steps"][0]["unvalidated"] == step.unvalidated


COUNTED["test_an_allowed_missing_validator_writes_and_the_report_says_not_validated"] = "validation cases"


def test_a_missing_validator_fails_the_step_and_writes_nothing(monkeypatch):
    hide_tools(monkeypatch, "bash")
    host = arch_host()
    before = host.files["/etc/default/grub"]
    step = Runner(host, dry_run=False).run([GoodShell()]).steps[0]
    assert step.status == "failed", step
    assert "bash (the shell check) is not installed on fake" in step.reason and "nothing was written" in step.reason
    assert "allow_unvalidated" in step.remedy
    assert host.files["/etc/default/grub"] == before
    plan = Runner(arch_host(), dry_run=True).run([GoodShell()]).steps[0]
    assert plan.status == "failed" and "bash (the shell check) is not installed here" in plan.reason


COUNTED["test_a_missing_validator_fails_the_step_and_writes_nothing"] = "validation cases"


def test_allow_unvalidated_names_known_checks_only():
    assert build(RunbookParams, {"allow_unvalidated": ["pacman-conf"]}).allow_unvalidated == ["pacman-conf"]
    with pytest.raises(ParameterError, match="allow_unvalidated.*unknown check 'pacman'.*pacman-conf"):
        build(RunbookParams, {"allow_unvalidated": ["pacman"]})


COUNTED["test_allow_unvalidated_names_known_checks_only"] = "validation cases"


def test_the_markdown_twin_escapes_host_text_as_the_html_page_does():
    bad = "\n".join(HOSTILE_TEXT)
    doc = Document(bad, bad, [bad], [Part(bad, [bad, Heading(bad), Table(["value", bad], [[bad, "ok"]]),
                                                Code(bad, "kept <as> it is\n")])])
    md = to_markdown(doc)
    assert "<script" not in md and "<img" not in md
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    for tag in ("<script", "<img", "<a ", "<em>bold", "<em>em", "<code>code", "<del", "<ol", "<h1>not", "<h3>not"):
        assert tag not in page, tag
    assert page.count("&lt;script&gt;alert(&quot;os-release&quot;)&lt;/script&gt;") >= 6
    assert "<td>ok</td>" in page and page.count("<tr>") == 2, "host text broke the table apart"
    assert "<pre><code class=\"language-text\">kept &lt;as&gt; it is\n</code></pre>" in page


COUNTED["test_the_markdown_twin_escapes_host_text_as_the_html_page_does"] = "report escapes"

"""Test-wide settings: sample hosts and notebook kernels never touch the user's own state directory."""

import os
import tempfile

os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="xenbook-test-state-")
os.environ["XENBOOK_SAMPLE_BUILD_SECONDS"] = "0"  # the sample host's simulated makepkg builds without pausing


def pytest_collection_finish(session):
    """nbval runs each notebook with its defaults, against the default sample host: give that host Xen as the
    install, boot and dom0 sections leave it, rebooted into Xen, so every section's dry run has its prerequisites."""
    if not any(str(item.fspath).endswith(".ipynb") for item in session.items):
        return
    from xenbook.engine.params import RunbookParams
    from xenbook.engine.registry import run_sections
    from xenbook.connectors.targets import open_host
    from xenbook_sample.boot import reboot
    with open_host("sample") as host:
        report = run_sections(host, RunbookParams(), ["install", "boot", "dom0"], dry_run=False)
        assert not report.failed, report.summary()
        reboot(host)  # into Xen, so 30-dom0 verifies and 40-domu plans a guest as on a real dom0


def pytest_terminal_summary(terminalreporter):
    """Where the slow tiers left their artifacts (tests/artifacts.py)."""
    from tests.artifacts import ARTIFACTS
    for line in ARTIFACTS:
        terminalreporter.write_line(line)

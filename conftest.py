"""Test-wide settings: sample hosts and notebook kernels never touch the user's own state directory."""

import os
import tempfile

os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="xenbook-test-state-")
os.environ["XENBOOK_SAMPLE_BUILD_SECONDS"] = "0"  # the sample host's simulated makepkg builds without pausing


def pytest_collection_finish(session):
    """nbval runs each notebook with its defaults, against the default sample host: give that host Xen as the
    install section leaves it, since a new sample host starts without Xen and 20-boot plans a boot entry for it."""
    if not any(str(item.fspath).endswith(".ipynb") for item in session.items):
        return
    from xenbook.params import RunbookParams
    from xenbook.sections import run_sections
    from xenbook.targets import open_host
    with open_host("sample") as host:
        report = run_sections(host, RunbookParams(), ["install"], dry_run=False)
    assert not report.failed, report.summary()

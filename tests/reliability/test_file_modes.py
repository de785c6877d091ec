"""An executable file a step edits keeps its own mode bits and gains only x where it has r: a private script holding
a GRUB password hash never becomes world-readable. (A new file gets the step's mode: GrubXenEntry/
missing-file-created.)"""

import pytest

from xenbook.connectors.fake import FakeHost
from xenbook.core.step import FileStep


@pytest.fixture(autouse=True)
def _counted(tally):
    """Each case of this file counts in the reliability tier's summary line."""
    yield
    tally["mode checks"] += 1


SCRIPT = "#!/bin/sh\nexec tail -n +3 $0\npassword_pbkdf2 root grub.pbkdf2.sha512.10000.00.11\n"


class Script(FileStep):
    section, path, mode, enforce_mode = "test", "/etc/grub.d/40_custom", 0o755, True

    def render(self, host, old):
        return SCRIPT


@pytest.mark.parametrize("have, wanted", [(0o700, None), (0o750, None), (0o600, 0o700), (0o640, 0o750),
                                          (0o000, 0o100), (0o4700, None)])
def test_unchanged_text_gains_only_x_where_r(have, wanted):
    p = Script().plan(FakeHost({Script.path: SCRIPT}, modes={Script.path: have}))
    if wanted is None:
        assert not p.actions, p.reason
        return
    assert [(a.mode, a.set_mode) for a in p.actions] == [(wanted, True)], p.reason
    assert p.actions[0].describe() == f"chmod {wanted:04o} {Script.path}"


def test_edited_private_script_stays_private():
    p = Script().plan(FakeHost({Script.path: "#!/bin/sh\n"}, modes={Script.path: 0o700}))
    assert [a.mode for a in p.actions] == [0o700]


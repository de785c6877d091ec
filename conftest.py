"""Test-wide settings: sample hosts and notebook kernels never touch the user's own state directory."""

import os
import tempfile

os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="xenbook-test-state-")

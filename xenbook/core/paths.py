"""Where xenbook keeps its own state on a target."""

import re

STATE_DIR = "/var/lib/xenbook"
PENDING_DIR = f"{STATE_DIR}/pending"
BACKUP_DIR = f"{STATE_DIR}/backups"
# The temporary file of a write in progress, beside the file it replaces: .NAME.XXXXXXXX.xenbook-new (local and
# chroot hosts, tempfile.mkstemp) or .NAME.xenbook-XXXXXX (SSH hosts, mktemp). A killed run can leave one behind.
TEMP_NAME = re.compile(r"\..+\.(?:[A-Za-z0-9_]{8}\.xenbook-new|xenbook-[A-Za-z0-9]{6})")

"""Where xenbook keeps its own state on a target."""

STATE_DIR = "/var/lib/xenbook"
PENDING_DIR = f"{STATE_DIR}/pending"
BACKUP_DIR = f"{STATE_DIR}/backups"

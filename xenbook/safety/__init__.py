"""Safety: validators for candidate files, the destructive-operation guard, and secret redaction."""

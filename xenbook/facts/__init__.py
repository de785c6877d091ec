"""Read-only questions about a host, each returning plain data."""

"""The runbook's steps by subject: each reads the host and returns a Plan, and never writes."""

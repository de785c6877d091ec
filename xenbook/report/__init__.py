"""Reporting above the engine: the host report and its page, and the console's rendering of results."""

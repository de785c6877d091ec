"""The runbook's section notebooks, installed with the package."""

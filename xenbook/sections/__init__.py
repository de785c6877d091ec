"""The runbook's sections, one package each: its parameters, its steps and what it adds to the host report."""

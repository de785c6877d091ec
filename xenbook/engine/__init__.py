"""The engine: the runner (the only code that writes), the ledger, the lock, the parameter set and the section registry."""

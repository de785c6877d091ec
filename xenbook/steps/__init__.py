"""Shared step kinds the sections build on: repository packages, units, and known command failures."""

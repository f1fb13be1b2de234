"""Imported only if a loader imports a module named in a file (which it must never do)."""

IMPORTED = True

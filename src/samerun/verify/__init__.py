"""Verify and diff: replay a run in isolation, compare two runs layer by layer."""

"""Capture of a run's inputs, one module per pillar: code, environment, randomness, params."""

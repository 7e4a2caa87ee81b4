"""Traces: order-sensitive fingerprints of a run's intermediate state, step by step.

``fingerprint`` turns one value into exact bytes' hash, dtype and shape; ``model`` holds a
trace and its compact stored form; ``stored`` writes it with a run and reads it back;
``compare`` finds where two traces first part. (The package is not called ``trace``, so that
``samerun.trace(step, ...)`` stays the function.)
"""

"""The environment pillar past recording: export a run's environment, rebuild it, check it.

``lock`` turns the record into install requirements (what can be fetched again, what is the
project itself, what is gone); ``export`` writes them in the format of the tool that consumes
them; ``restore`` builds a fresh virtual environment with exactly the recorded set and checks it.
Every export is a pure function of the record (package hashes aside, which come from the index).
"""

"""Whether this process may fork workers: asked by the walk (listing) and the hashing pool.

A module of its own so that both import it directly: the hashing pool imports the stat cache,
which imports the walk.
"""

from __future__ import annotations

import sys


def forkable() -> bool:
    """Whether this process may fork workers: Linux, and no other thread that a fork could
    catch holding a lock."""
    import threading  # start-up: `data status` of a small tree never forks, nor imports it

    return sys.platform == "linux" and threading.active_count() == 1

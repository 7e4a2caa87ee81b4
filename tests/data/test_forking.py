from __future__ import annotations

import sys
import threading

from samerun.data.forking import forkable


def test_a_process_with_another_thread_does_not_fork() -> None:
    assert forkable() == (sys.platform == "linux" and threading.active_count() == 1)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not forkable()  # the other thread could hold a lock the child would inherit
    finally:
        release.set()
        other.join()

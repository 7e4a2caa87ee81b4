from __future__ import annotations

import math
import time
from pathlib import Path

from samerun.journal import JournalWriter, last_heartbeat, read_journal


def test_records_come_back_in_order(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    for step in range(1000):
        writer.append(("m", "loss", step, step / 10, 0.0))
    writer.append(("p", {"lr": 0.1}))
    writer.close()
    records = list(read_journal(tmp_path))
    assert len(records) == 1001
    assert records[999] == ["m", "loss", 999, 99.9, 0.0]
    assert records[-1] == ["p", {"lr": 0.1}]


def test_background_thread_flushes_within_the_interval(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, interval=0.05)
    writer.append(("m", "loss", 0, float("nan"), 0.0))
    deadline = time.time() + 5
    while not list(read_journal(tmp_path)) and time.time() < deadline:
        time.sleep(0.02)
    records = list(read_journal(tmp_path))
    writer.close()
    assert math.isnan(records[0][3])


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    segment = tmp_path / "journal-1.jsonl"
    segment.write_text('["m","loss",0,1.0,0.0]\n["m","loss",1,0.')
    assert list(read_journal(tmp_path)) == [["m", "loss", 0, 1.0, 0.0]]


def test_segments_of_several_processes_are_all_read(tmp_path: Path) -> None:
    (tmp_path / "journal-1.jsonl").write_text('["n","a"]\n')
    (tmp_path / "journal-2.jsonl").write_text('["n","b"]\n')
    assert sorted(r[1] for r in read_journal(tmp_path)) == ["a", "b"]


def test_heartbeat_is_the_latest_touch(tmp_path: Path) -> None:
    assert last_heartbeat(tmp_path) is None
    writer = JournalWriter(tmp_path, interval=0.05)
    time.sleep(0.2)
    beat = last_heartbeat(tmp_path)
    writer.close()
    assert beat is not None
    assert time.time() - beat < 2

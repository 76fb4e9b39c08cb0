"""`make demo`: the summary it prints is true of the index it made."""

from __future__ import annotations

import re

from archivesync import demo
from archivesync.db.schema import open_readonly
from archivesync.search.query import search


def test_demo_counts_every_hit_and_shows_the_first_few(tmp_path, capsys):
    db_path = tmp_path / "archive.db"
    assert demo.main(["--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    db = open_readonly(db_path)
    try:
        for query in demo.SAMPLE_QUERIES:
            total = len(search(db, query, limit=1000))
            match = re.search(rf"search '{re.escape(query)}': (\d+) video\(s\)(.*)\n", out)
            assert match, out
            assert int(match[1]) == total
            if total > demo.SHOWN_HITS:
                assert match[2] == f", the first {demo.SHOWN_HITS} shown"
        # 2 videos by their titles, 2 by chapter titles (with cues of their transcripts)
        assert re.search(r"search '人材': 4 video\(s\), the first 3 shown", out)
    finally:
        db.close()
    assert "archivesync-demo-key" in out and "UCX__Mlqfalo-NO1zAHhhuNw" in out
    assert "Try it yourself" in out

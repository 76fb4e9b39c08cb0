"""docs/emulator.md's walk-through runs as written: emulator, sync, auth, transcripts, analytics."""

from __future__ import annotations

import sqlite3
import stat
import urllib.request

from .helpers import REPO
from .shell_blocks import ShellBlock, free_port, sh_block

DOC = (REPO / "docs" / "emulator.md").read_text(encoding="utf-8")


def test_the_walkthrough_runs_as_written_and_fills_transcripts_and_retention(tmp_path):
    port = free_port()
    script = sh_block(DOC, "Captions and analytics, step by step").replace("8088", str(port))
    assert "python" not in script  # no one-liner: the emulator writes the client secrets
    with ShellBlock(script, tmp_path) as block:
        # The "browser": `auth --no-browser` prints the consent URL; the emulator's page
        # answers with a redirect to auth's loopback server, which takes the code.
        found = block.wait_for_output(rf"^(http://127\.0\.0\.1:{port}/o/oauth2/auth\?\S+)$")
        prompt = block.output().split(found[1])[0].splitlines()[-1]
        assert "tunnelled to port " in prompt and "shown above" not in prompt
        with urllib.request.urlopen(found[1], timeout=10) as page:
            assert b"authorised" in page.read()
        assert block.finish(120) == 0, block.output()
    text = block.output()
    assert "caption tracks for 4 videos" in text
    assert "OAuth client secrets for `archivesync auth` written to data/emulator-client.json" in (
        text
    )
    assert "10 videos checked, 4 with captions" in text, text
    assert "https://www.youtube.com/watch?v=kD7mQx2LrVw&t=2000s" in text
    token = tmp_path / "data" / "emulator-token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / "data" / "mine.db") as db:
        cues = db.execute("SELECT count(DISTINCT video_id) FROM transcript_cues").fetchone()[0]
        retention = db.execute("SELECT count(DISTINCT video_id) FROM video_retention").fetchone()
        runs = db.execute("SELECT mode, status FROM sync_runs ORDER BY id").fetchall()
    assert cues == 4 and retention[0] == 10
    assert runs == [("full", "ok"), ("transcripts", "ok"), ("analytics", "ok")]

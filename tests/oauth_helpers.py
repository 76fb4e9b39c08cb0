"""Token files for tests that need OAuth without running the consent flow (issues 11, 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from archivesync.oauth import SCOPES

SAMPLE_CHANNEL = "UCX__Mlqfalo-NO1zAHhhuNw"


def write_token_file(path, emu, channel=SAMPLE_CHANNEL, scopes=SCOPES) -> Path:
    """An authorized-user JSON (mode 0600) whose refresh token the emulator `emu` accepts."""
    path = Path(path)
    info = emu.oauth.authorized_user_info(emu.url, channel, scopes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info, f)
    return path


def refresh_token_of(path) -> str:
    return json.loads(Path(path).read_text(encoding="utf-8"))["refresh_token"]

"""Japanese formatting for the console: Tokyo times, h:mm:ss durations, labels of statuses."""

from __future__ import annotations

from datetime import datetime

from archivesync.timestamps import TOKYO, read_iso

STATUS_LABELS = {
    "queued": "待機中",
    "running": "実行中",
    "done": "完了",
    "ok": "成功",
    "failed": "失敗",
    "quota_exhausted": "クォータ切れ",
    "interrupted": "中断",
    "cancelled": "取り消し",
}
MODE_LABELS = {
    "full": "完全同期",
    "incremental": "差分同期",
    "playlist": "再生リスト",
    "videos": "動画",
    "transcripts": "字幕",
    "analytics": "アナリティクス",
}
TARGET_KINDS = {"videos": "動画", "channel": "チャンネル", "playlist": "再生リスト"}
TRIGGER_LABELS = {
    "cli": "コマンド",
    "schedule": "スケジュール",
    "manual": "職員の依頼",
    "demo": "デモ",
}


# Why someone was signed out (sessions.Ended.reason), said on the login page and console pages.
ENDED_LABELS = {
    "idle": "しばらく操作がなかったため、安全のためログアウトしました。"
    "もう一度ログインしてください。",
    "max_age": "ログインしてから長い時間がたったため、安全のためログアウトしました。"
    "もう一度ログインしてください。",
    "password_changed": "パスワードが変更されたため、ログアウトしました。"
    "新しいパスワードでログインしてください。",
    "user_removed": "このユーザーは削除されたため、ログアウトしました。",
}


def jst(value: str | datetime | None, *, date_only: bool = False) -> str:
    """A UTC timestamp shown in Tokyo time: ``2024-05-01 12:00`` (or the date alone)."""
    moment = read_iso(value) if isinstance(value, str | None) else value
    if moment is None:
        return "—"
    moment = moment.astimezone(TOKYO)
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")


def jst_date(value: str | None) -> str:
    """The Tokyo date of a UTC timestamp."""
    return jst(value, date_only=True)


def hms(seconds: float | None) -> str:
    """A duration as h:mm:ss (``1:23:45``, ``0:41:12``); "—" when unknown."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def clock(seconds: float | None) -> str:
    """A position in a video as YouTube shows it: ``41:12``, or ``1:02:03`` past an hour."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def number(value: int | float | None) -> str:
    """A count with thousands separators; "—" when unknown."""
    return "—" if value is None else f"{value:,}"


def status_label(status: str | None) -> str:
    """The Japanese word for a run or request status (the code itself when unknown)."""
    return STATUS_LABELS.get(status or "", status or "—")


def mode_label(mode: str | None) -> str:
    """The Japanese word for a sync mode."""
    return MODE_LABELS.get(mode or "", mode or "—")


def target_kind_label(kind: str | None) -> str:
    """The Japanese word for what a resync request names (動画, チャンネル, 再生リスト)."""
    return TARGET_KINDS.get(kind or "", kind or "—")


def trigger_label(trigger: str | None) -> str:
    """The Japanese word for what started a run."""
    return TRIGGER_LABELS.get(trigger or "", trigger or "—")


def age(seconds: float | None) -> str:
    """How long ago, in Japanese: ``12秒前``, ``5分前``, ``3時間前``, ``2日前``."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}秒前"
    if seconds < 3600:
        return f"{seconds // 60}分前"
    if seconds < 86400:
        return f"{seconds // 3600}時間前"
    return f"{seconds // 86400}日前"


FILTERS = {
    "jst": jst,
    "jst_date": jst_date,
    "hms": hms,
    "clock": clock,
    "number": number,
    "status_label": status_label,
    "mode_label": mode_label,
    "trigger_label": trigger_label,
    "target_kind_label": target_kind_label,
    "age": age,
}

"""The words of each notification, in Japanese for the institute's staff. Pure: no I/O.

One message says what happened, to what, in which run, why, what to do, and where to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

# event: (what happened, what to do)
EVENTS = {
    "run_failed": (
        "同期が失敗しました",
        "`archivesync status` とログで原因を確認してください。一時的な障害なら次の実行で回復し、"
        "回復したときにもお知らせします。",
    ),
    "quota_exhausted": (
        "本日の API クォータを使い切りました（終了コード 75）",
        "クォータは太平洋時間の午前 0 時（日本時間の 16 時または 17 時）にリセットされ、その後の"
        "実行で再開します。急ぎの再同期は待ってください。毎日起きる場合は --daily-budget と、"
        "同じキーを使う他のツールを確認してください。",
    ),
    "schedule_missed": (
        "予定の時刻に実行できませんでした",
        "前の実行が長引いたか、デーモンが止まっていた可能性があります。`archivesync status` で"
        "実行状況と次の予定を確認してください。",
    ),
    "replication": (
        "バックアップ（Litestream のレプリカ）が止まっているか遅れています",
        "デーモンのログ、バックアップ先の容量・権限・ネットワークを確認してください。"
        "`archivesync status` の Replication 欄に詳細があります。",
    ),
    "oauth": (
        "OAuth の許可が拒否されました（invalid_grant）",
        "字幕とアナリティクスの取得が止まっています。`archivesync auth` をもう一度実行してトークン"
        "ファイルを作り直してください。Google Cloud のアプリが「テスト」のままだと更新トークンは"
        "7 日で失効します。",
    ),
    "oauth_expiring": (
        "OAuth の更新トークンの期限が近づいています",
        "期限までに `archivesync auth` をもう一度実行してください。アプリを「本番」に公開すると"
        "7 日ごとの失効はなくなります。",
    ),
    "daemon_error": (
        "デーモンがエラーで停止しました",
        "ログで原因を確認し、取り除いてからサービスを再起動してください"
        "（systemctl restart archivesync など）。",
    ),
    "test": (
        "テスト通知です",
        "この通知が届いていれば、archivesync からの通知の設定は正しく動いています。",
    ),
}


@dataclass(frozen=True)
class Message:
    """A notification ready to send: a title and a body of plain text."""

    title: str
    body: str


def _when(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M (日本時間)")


def problem_message(
    event: str,
    subject: str | None,
    cause: str | None,
    *,
    run_id: int | None,
    console_url: str | None,
    since: datetime,
) -> Message:
    """The message for a problem that has just begun."""
    headline, action = EVENTS[event]
    lines = [headline]
    if subject:
        lines.append(f"対象: {subject}")
    if run_id is not None:
        lines.append(f"実行 ID: {run_id}")
    if cause:
        lines.append(f"原因: {cause}")
    lines.append(f"発生: {_when(since)}")
    lines.append(f"対応: {action}")
    if console_url:
        lines.append(f"コンソール: {console_url}")
    suffix = f"（{subject}）" if subject else ""
    return Message(f"[archivesync] {headline}{suffix}", "\n".join(lines))


def recovered_message(
    event: str,
    subject: str | None,
    *,
    run_id: int | None,
    console_url: str | None,
    since: datetime,
    now: datetime,
) -> Message:
    """The message for a problem that is over."""
    headline, _ = EVENTS[event]
    lines = [f"回復しました: {headline}"]
    if subject:
        lines.append(f"対象: {subject}")
    if run_id is not None:
        lines.append(f"実行 ID: {run_id}")
    lines.append(f"問題の発生: {_when(since)}、回復: {_when(now)}")
    lines.append("対応: 不要です。")
    if console_url:
        lines.append(f"コンソール: {console_url}")
    suffix = f"（{subject}）" if subject else ""
    return Message(f"[archivesync] 回復: {headline}{suffix}", "\n".join(lines))


def console_link(public_url: str | None, request_id: int | None = None) -> str | None:
    """The console page to open: a staff request's page, or the overview."""
    if not public_url:
        return None
    base = public_url.rstrip("/")
    return f"{base}/-/requests/{request_id}" if request_id is not None else f"{base}/"


def check_public_url(text: str) -> str:
    """The console's public address, checked (http/https, a host, nothing secret); ValueError."""
    try:
        parts = urlsplit(text.strip())
        # .port raises ValueError for a port that is not a number or out of range.
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        valid = False
    if not valid:
        # Not echoed: whatever was typed may hold a password.
        raise ValueError(
            "the public URL must be an http:// or https:// address with a host, such as "
            "https://archive.example.org"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        # It is printed in every message: a password or a token must never ride along.
        raise ValueError(
            "the public URL must have no user, password, query or fragment "
            f"({parts.scheme}://{parts.hostname}/... is enough)"
        )
    return text.strip().rstrip("/")

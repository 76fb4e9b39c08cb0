"""A deterministic synthetic channel of any size, about 自治体DX (local-government DX).

``synthetic_dataset(100_000)`` builds in well under a second: only ids and publish times are
computed up front; each video resource is generated from its index when first asked for
(and playlists' entries when first listed), so memory stays small.

What the data exercises:

* titles/descriptions in Japanese over a skewed topic vocabulary (自治体DX, 防災, 人材育成,
  窓口, 生成AI...), so full-text search has common and rare words;
* chapter lists in every Japanese form (``0:00 開会``, ``0:00　開会``, ``【0:00】開会``,
  ``開会 0:00``, ``０：００　開会``, ``0:00 - 開会``) with 3–15 chapters; some lists break
  YouTube's rules (no 0:00, only two, not ascending, a chapter under 10 s); some prose holds
  times of day (``10:00から開始``) that are not chapters. ``expected_chapters`` gives the
  chapters YouTube would show, for testing a parser;
* durations from PT45S to five hours; a few percent with likes hidden or comments off;
  a handful of upcoming streams (``P0D``) and one live; archived streams with
  ``liveStreamingDetails``;
* playlists of ~50 entries (default ``n // 25`` of them) with duplicated videos and a few
  "Deleted video"/"Private video" entries.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
from array import array
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from .dataset import DELETED, PRIVATE, Dataset, Entry, iso, thumbnails, uploads_playlist_id

DEFAULT_CHANNEL_ID = "UCsyntheticArchiveSync01"
CHANNEL_TITLE = "自治体DXアーカイブ(合成データ)"
CHANNEL_DESCRIPTION = "自治体DX・防災・人材育成に関するセミナーや講演を配信する合成チャンネルです。"
_END = 1_759_190_400  # 2025-09-30T00:00:00Z: fixed, so the data never depends on today
_YEAR = 365 * 86_400

# Weighted so that search terms have very different frequencies.
_TOPICS = [
    ("自治体DX", 12), ("防災", 6), ("人材育成", 6), ("窓口改革", 4), ("書かない窓口", 2),
    ("生成AI", 4), ("AI・RPA", 3), ("オープンデータ", 3), ("行政手続のオンライン化", 3),
    ("基幹業務システムの標準化", 3), ("ガバメントクラウド", 2), ("業務改革(BPR)", 3),
    ("EBPM", 2), ("データ利活用", 3), ("公民連携", 2), ("スマート自治体", 2),
    ("マイナンバーカード", 2), ("情報セキュリティ", 2), ("避難所運営", 1), ("地域防災計画", 1),
    ("子育て支援", 1), ("地域包括ケア", 1), ("テレワーク", 1), ("広域連携", 1),
    ("ドローン活用", 1), ("キャッシュレス決済", 1), ("電子契約", 1), ("GIS", 1),
]  # fmt: skip
_TOPIC_NAMES = [t for t, _ in _TOPICS]
_TOPIC_WEIGHTS = [w for _, w in _TOPICS]
_FORMATS = ["セミナー", "講演", "座談会", "研修", "事例発表", "パネルディスカッション",
            "勉強会", "ワークショップ", "基調講演", "説明会"]  # fmt: skip
_SUBTITLES = [
    "現場職員が語る", "はじめの一歩", "よくある課題と解決策", "住民目線のサービスデザイン",
    "小規模自治体の挑戦", "庁内の合意形成", "失敗から学ぶ", "首長・幹部の役割",
    "明日から使えるノウハウ", "先進事例に学ぶ", "職員の意識改革", "データで見る現状",
]  # fmt: skip
_PLACES = [
    "北海道札幌市", "岩手県盛岡市", "宮城県仙台市", "茨城県", "埼玉県川口市", "千葉県",
    "神奈川県横須賀市", "神奈川県藤沢市", "新潟県長岡市", "石川県金沢市", "岐阜県",
    "静岡県浜松市", "滋賀県", "兵庫県伊丹市", "広島県", "福岡県北九州市", "熊本県熊本市",
    "鹿児島県奄美市", "沖縄県宜野湾市", "長野県", "高知県",
]  # fmt: skip
_SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
             "吉田", "山田", "松本", "井上", "木村", "清水"]  # fmt: skip
_GIVEN = ["健一", "裕子", "誠", "美咲", "大輔", "直樹", "陽子", "翔太", "恵", "浩二",
          "由美", "拓也"]  # fmt: skip
_ROLES = ["DX推進課長", "情報政策課長", "企画課 主査", "危機管理課長", "市民課長",
          "総務部参事", "CIO補佐官", "大学教授", "デジタル推進監"]  # fmt: skip
_SENTENCES = [
    "{topic}をテーマに、{place}の取組を紹介します。",
    "本動画では、{topic}を進めるうえでの課題と、その乗り越え方を解説します。",
    "{place}の{role}が、{topic}の実践例を具体的にお話しします。",
    "住民サービスの向上と職員の負担軽減を両立するためのポイントをまとめました。",
    "人材育成やリソース不足への対応など、現場の悩みに応える内容です。",
    "{topic}と{topic2}を組み合わせた取組について、導入の経緯から効果検証までを紹介します。",
    "自治体職員の皆様の業務改善の参考としてご活用ください。",
    "資料は当機構ホームページからダウンロードできます。",
    "窓口での手続時間が短縮され、住民アンケートでも高い評価を得ています。",
    "庁内の合意形成をどう進めたか、失敗談も交えて率直に語っていただきました。",
]  # fmt: skip
_TIME_OF_DAY = [
    "当日は{h}:00から開始し、{h2}:30に終了しました。",
    "受付は{h}:30からです。",
    "ライブ配信は{h}:00から行いました。",
    "第2部は{h2}:00から始まります。",
]  # fmt: skip
_CHAPTER_NAMES = [
    "開会・趣旨説明", "講師紹介", "基調講演", "事例発表①", "事例発表②", "事例発表③",
    "パネルディスカッション", "質疑応答", "まとめ", "閉会", "オープニング", "本日のテーマ",
    "現状と課題", "取組の概要", "導入の経緯", "効果と今後の展望", "意見交換", "休憩",
    "グループワーク", "振り返り", "エンディング",
]  # fmt: skip
_CHAPTER_HEADERS = ["■目次", "【チャプター】", "＜タイムスタンプ＞", "(目次)", "▼内容", ""]
FORMS = ("ascii", "ideographic", "bracket", "trailing", "fullwidth", "dash")
_FULLWIDTH = str.maketrans("0123456789:", "０１２３４５６７８９：")


def _video_id(seed: int, channel_id: str, i: int, salt: str = "v") -> tuple[str, bytes]:
    digest = hashlib.blake2b(f"{seed}:{channel_id}:{salt}:{i}".encode(), digest_size=16).digest()
    return base64.urlsafe_b64encode(digest[:8]).decode()[:11], digest


def format_duration(seconds: int) -> str:
    """ISO 8601 as the API writes it: PT45S, PT1H, PT1H2M3S."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
    return out if out != "PT" else "P0D"


def _timestamp(seconds: int, long_video: bool, rng: random.Random) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h or (long_video and seconds and rng.random() < 0.3):
        return f"{h}:{m:02d}:{s:02d}"
    return f"{m:02d}:{s:02d}" if rng.random() < 0.15 else f"{m}:{s:02d}"


def _chapter_line(form: str, stamp: str, name: str) -> str:
    if form == "ascii":
        return f"{stamp} {name}"
    if form == "ideographic":
        return f"{stamp}\u3000{name}"
    if form == "bracket":
        return f"【{stamp}】{name}"
    if form == "trailing":
        return f"{name} {stamp}"
    if form == "fullwidth":
        return f"{stamp.translate(_FULLWIDTH)}\u3000{name}"
    return f"{stamp} - {name}"


class _Plan:
    """Everything about one synthetic video that is decided by its random stream."""

    __slots__ = ("chapter_form", "chapters", "chapters_valid", "description", "duration",
                 "rng", "tags", "title", "topic")  # fmt: skip


class SyntheticVideos:
    """The lazy video source behind a synthetic dataset (``dataset.VideoSource``)."""

    def __init__(self, n: int, seed: int, channel_id: str, channel_title: str):
        self.n = n
        self.seed = seed
        self.channel_id = channel_id
        self.channel_title = channel_title
        span = min(12 * _YEAR, max(_YEAR, n * 7 * 86_400))
        self.start = _END - span
        step = max(span // max(n, 1), 2)
        ids: list[str] = []
        epochs = array("q")
        for i in range(n):
            vid, digest = _video_id(seed, channel_id, i)
            ids.append(vid)
            # Jitter below one step keeps publish times strictly increasing with the index.
            epochs.append(self.start + i * step + int.from_bytes(digest[8:12]) % (step // 2 or 1))
        self.ids: Sequence[str] = ids
        self.epochs: Sequence[int] = epochs
        self.index = {vid: i for i, vid in enumerate(ids)}
        if len(self.index) != n:
            raise RuntimeError("video id collision; choose another seed")
        self.upcoming = {i for i in (n - 1, n - 4, n // 2) if n >= 10 and 0 <= i < n}
        if 0 < n < 10:
            self.upcoming = {n - 1}
        self.live = n - 2 if n >= 20 else None
        # A sync asks for each video twice in a row (playlistItems, then videos.list).
        self.make = functools.lru_cache(maxsize=4096)(self._make)  # type: ignore[method-assign]

    def _rng(self, i: int, salt: str = "") -> random.Random:
        return random.Random(f"{self.seed}:{self.channel_id}:{salt}:{i}")

    def plan(self, i: int) -> _Plan:
        """The deterministic plan (topic, length, chapters...) of video `i`."""
        rng = self._rng(i)
        p = _Plan()
        p.rng = rng
        topic, topic2 = rng.choices(_TOPIC_NAMES, _TOPIC_WEIGHTS, k=2)
        if topic2 == topic:
            topic2 = _TOPIC_NAMES[(_TOPIC_NAMES.index(topic) + 1 + i % 5) % len(_TOPIC_NAMES)]
        place = rng.choice(_PLACES)
        fmt = rng.choice(_FORMATS)
        p.topic = topic
        p.title = self._title(i, rng, topic, topic2, place, fmt)
        if i in self.upcoming or i == self.live:
            p.duration = 0
        else:
            p.duration = self._duration(rng)
        sentences = []
        for template in rng.sample(_SENTENCES, rng.randint(2, 4)):
            sentences.append(
                template.format(
                    topic=topic,
                    topic2=topic2,
                    place=place,
                    role=rng.choice(_ROLES),
                )
            )
        speaker = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)} 氏({place} {rng.choice(_ROLES)})"
        lines = ["".join(sentences), "", f"講師:{speaker}"]
        if rng.random() < 0.12:
            h = rng.choice([9, 10, 13, 14])
            lines.insert(1, rng.choice(_TIME_OF_DAY).format(h=h, h2=h + 2))
        p.chapters, p.chapters_valid, p.chapter_form = [], False, None
        if p.duration >= 300 and rng.random() < 0.55:
            block = self._chapters(rng, p)
            lines += ["", *block]
        hashtags = dict.fromkeys([f"#{topic.replace('・', '')}", "#自治体DX", "#地方自治研究機構"])
        lines += ["", " ".join(hashtags)]
        p.description = "\n".join(lines)
        tag_pool = list(dict.fromkeys([topic, topic2, "自治体DX", fmt, place, "地方自治", "DX"]))
        p.tags = tag_pool[: rng.randint(0, len(tag_pool))]
        return p

    def _title(
        self, i: int, rng: random.Random, topic: str, topic2: str, place: str, fmt: str
    ) -> str:
        year = datetime.fromtimestamp(self.epochs[i], UTC).year
        # Japanese fiscal-year naming: 令和 from 2019, 平成 before.
        era = f"令和{year - 2018}" if year >= 2019 else f"平成{year - 1988}"
        era = era.replace("令和1", "令和元")
        templates = [
            f"【{fmt}】{topic}の進め方 〜{rng.choice(_SUBTITLES)}〜",
            f"{topic}推進セミナー 第{i % 12 + 1}回「{rng.choice(_SUBTITLES)}」",
            f"{era}年度 {topic}研修({rng.choice(['前編', '後編', '全体版', '第1部', '第2部'])})",
            f"{place}における{topic}の取組事例",
            f"{topic}と{topic2}:{rng.choice(_SUBTITLES)}",
            f"【{fmt}】{place}×{topic}",
        ]
        if i in self.upcoming:
            return f"【ライブ配信予定】{topic}推進セミナー {place}会場"
        if i == self.live:
            return f"【LIVE】{topic}{fmt} 生配信"
        return rng.choice(templates)

    @staticmethod
    def _duration(rng: random.Random) -> int:
        r = rng.random()
        if r < 0.03:
            return rng.randint(45, 59)
        if r < 0.23:
            return rng.randint(120, 900)
        if r < 0.63:
            return rng.randint(900, 3600)
        if r < 0.93:
            return rng.randint(3600, 9000)
        return rng.randint(9000, 18_000)

    @staticmethod
    def _chapters(rng: random.Random, p: _Plan) -> list[str]:
        duration = p.duration
        k = min(rng.randint(3, 15), duration // 60)
        slots = rng.sample(range(1, duration // 20), k - 1)
        starts = [0, *sorted(s * 20 + rng.randint(0, 9) for s in slots)]
        names = rng.sample(_CHAPTER_NAMES, min(k, len(_CHAPTER_NAMES)))
        names += [f"パート{j}" for j in range(len(names), k)]
        chapters = list(zip(starts, names, strict=True))
        valid = True
        breakage = rng.random()
        if breakage < 0.04:  # the first timestamp is not 0:00
            chapters[0] = (rng.randint(3, 15), chapters[0][1])
            valid = False
        elif breakage < 0.07:  # only two timestamps
            chapters = chapters[:2]
            valid = False
        elif breakage < 0.10 and len(chapters) >= 3:  # not ascending
            chapters[1], chapters[2] = chapters[2], chapters[1]
            valid = False
        elif breakage < 0.13:  # a chapter shorter than 10 seconds
            at = rng.randrange(len(chapters))
            chapters.insert(at + 1, (chapters[at][0] + rng.randint(2, 8), "告知"))
            valid = False
        form = rng.choice(FORMS)
        long_video = duration >= 3600
        lines = [h for h in [rng.choice(_CHAPTER_HEADERS)] if h]
        lines += [_chapter_line(form, _timestamp(t, long_video, rng), n) for t, n in chapters]
        p.chapters = chapters if valid else []
        p.chapters_valid = valid
        p.chapter_form = form
        return lines

    def _make(self, i: int) -> dict[str, Any]:
        """The video resource for index ``i``; shared and cached, so never mutate it."""
        p = self.plan(i)
        rng = p.rng
        vid = self.ids[i]
        published = iso(self.epochs[i])
        broadcast = "upcoming" if i in self.upcoming else "live" if i == self.live else "none"
        hd = rng.random() < 0.85
        snippet: dict[str, Any] = {
            "publishedAt": published,
            "channelId": self.channel_id,
            "title": p.title,
            "description": p.description,
            "thumbnails": thumbnails(vid, hd=hd, live=broadcast != "none"),
            "channelTitle": self.channel_title,
        }
        if p.tags:
            snippet["tags"] = p.tags
        snippet["categoryId"] = rng.choice(["29", "29", "27", "25"])
        snippet["liveBroadcastContent"] = broadcast
        if rng.random() < 0.5:
            snippet["defaultLanguage"] = "ja"
        snippet["localized"] = {"title": p.title, "description": p.description}
        snippet["defaultAudioLanguage"] = "ja"
        video: dict[str, Any] = {
            "kind": "youtube#video",
            "id": vid,
            "snippet": snippet,
            "contentDetails": {
                "duration": format_duration(p.duration),
                "dimension": "2d",
                "definition": "hd" if hd else "sd",
                "caption": "true" if rng.random() < 0.3 else "false",
                "licensedContent": False,
                "contentRating": {},
                "projection": "rectangular",
            },
            "status": {
                "uploadStatus": "uploaded" if broadcast != "none" else "processed",
                "privacyStatus": "public",
                "license": "creativeCommon" if rng.random() < 0.03 else "youtube",
                "embeddable": rng.random() < 0.97,
                "publicStatsViewable": True,
                "madeForKids": False,
            },
            "statistics": self._statistics(rng, broadcast),
        }
        if broadcast == "upcoming":
            start = _END + (i % 5 + 1) * 3 * 86_400 + 5 * 3600
            video["liveStreamingDetails"] = {"scheduledStartTime": iso(start)}
        elif broadcast == "live":
            began = _END - 1800
            video["liveStreamingDetails"] = {
                "actualStartTime": iso(began),
                "scheduledStartTime": iso(began - 120),
                "concurrentViewers": str(rng.randint(5, 300)),
                "activeLiveChatId": f"Cg0KC{vid}",
            }
        elif rng.random() < 0.15 and p.duration > 600:  # an archived live stream
            began = self.epochs[i] - p.duration - 600
            video["liveStreamingDetails"] = {
                "actualStartTime": iso(began),
                "actualEndTime": iso(began + p.duration),
                "scheduledStartTime": iso(began - 300),
            }
        return video

    @staticmethod
    def _statistics(rng: random.Random, broadcast: str) -> dict[str, str]:
        if broadcast == "upcoming":
            return {"viewCount": "0", "likeCount": "0", "favoriteCount": "0", "commentCount": "0"}
        views = int(rng.lognormvariate(6.3, 1.4))
        stats = {
            "viewCount": str(views),
            "likeCount": str(int(views * rng.uniform(0.003, 0.04))),
            "favoriteCount": "0",
            "commentCount": str(int(views * rng.uniform(0, 0.004))),
        }
        if rng.random() < 0.04:
            del stats["likeCount"]
        if rng.random() < 0.04:
            del stats["commentCount"]
        return stats

    # -------------------------------------------------------------- playlists

    def playlist_resource(self, p: int, count: int) -> dict[str, Any]:
        """The playlists.list resource of playlist `p`."""
        rng = self._rng(p, "pl")
        digest = hashlib.blake2b(f"{self.seed}:{self.channel_id}:pl:{p}".encode()).digest()
        playlist_id = "PL" + base64.urlsafe_b64encode(digest[:24]).decode()[:32]
        topic = rng.choices(_TOPIC_NAMES, _TOPIC_WEIGHTS)[0]
        title = rng.choice(
            [
                f"{topic}関連動画",
                f"{topic}セミナー アーカイブ",
                f"{rng.choice(_PLACES)}の取組 ({topic})",
                f"【まとめ】{topic} {rng.choice(_SUBTITLES)}",
            ]
        )
        description = f"{topic}に関する動画をまとめた再生リストです。" if rng.random() < 0.7 else ""
        # Playlists are listed newest first, like the real playlists.list.
        created = self.start + (count - p) * ((_END - self.start) // (count + 1))
        first = self.ids[self._playlist_start(p, count)] if self.n else "xxxxxxxxxxx"
        return {
            "id": playlist_id,
            "snippet": {
                "publishedAt": iso(created),
                "channelId": self.channel_id,
                "title": title,
                "description": description,
                "thumbnails": thumbnails(first, hd=False),
                "channelTitle": self.channel_title,
                "localized": {"title": title, "description": description},
            },
            "status": {"privacyStatus": "public"},
        }

    def _playlist_start(self, p: int, count: int) -> int:
        return (self.n * p) // max(count, 1) % max(self.n, 1)

    def playlist_entries(self, p: int, count: int) -> list[Entry]:
        """The entries of playlist `p`."""
        rng = self._rng(p, "entries")
        if not self.n:
            return []
        size = min(self.n, rng.randint(40, 60))
        start = self._playlist_start(p, count)
        picks = [(start + j) % self.n for j in range(size)]
        # Mostly a run of neighbours (a series), with some strays from elsewhere.
        for j in range(len(picks)):
            if rng.random() < 0.15:
                picks[j] = rng.randrange(self.n)
        picks = [i for i in dict.fromkeys(picks) if i not in self.upcoming]
        entries: list[tuple[str, str | None]] = [(self.ids[i], None) for i in picks]
        if entries and rng.random() < 0.3:
            entries.insert(rng.randrange(len(entries) + 1), rng.choice(entries))
        for state, chance in ((DELETED, 0.2), (PRIVATE, 0.1)):
            if rng.random() < chance:
                ghost, _ = _video_id(self.seed, self.channel_id, p, salt=f"ghost-{state}")
                entries.insert(rng.randrange(len(entries) + 1), (ghost, state))
        out = []
        for serial, (vid, state) in enumerate(entries):
            i = self.index.get(vid)
            base = self.epochs[i] if i is not None else self.start
            added = min(base + rng.randint(3600, 90 * 86_400), max(base, _END))
            out.append(Entry(serial, vid, state, iso(added)))
        return out


def _channel_thumbnails(channel_id: str) -> dict[str, Any]:
    base = f"https://yt3.ggpht.com/{channel_id}"
    return {
        name: {"url": f"{base}=s{size}-c-k-c0x00ffffff-no-rj", "width": size, "height": size}
        for name, size in (("default", 88), ("medium", 240), ("high", 800))
    }


def synthetic_dataset(
    n: int,
    *,
    seed: int = 0,
    channel_id: str = DEFAULT_CHANNEL_ID,
    playlists: int | None = None,
) -> Dataset:
    """A channel with ``n`` videos, deterministic for (n, seed, channel_id, playlists)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not channel_id.startswith("UC") or len(channel_id) != 24:
        raise ValueError("channel_id must look like a channel id: 'UC' + 22 characters")
    source = SyntheticVideos(n, seed, channel_id, CHANNEL_TITLE)
    count = playlists if playlists is not None else (max(1, n // 25) if n else 0)
    handle = "@syntheticarchive" if channel_id == DEFAULT_CHANNEL_ID else "@" + channel_id.lower()
    channel = {
        "kind": "youtube#channel",
        "id": channel_id,
        "snippet": {
            "title": CHANNEL_TITLE,
            "description": CHANNEL_DESCRIPTION,
            "customUrl": handle,
            "publishedAt": iso(source.start - 30 * 86_400),
            "thumbnails": _channel_thumbnails(channel_id),
            "localized": {
                "title": CHANNEL_TITLE,
                "description": CHANNEL_DESCRIPTION,
            },
            "country": "JP",
        },
        "contentDetails": {
            "relatedPlaylists": {"likes": "", "uploads": uploads_playlist_id(channel_id)}
        },
        "statistics": {
            "viewCount": str(n * 731),
            "subscriberCount": str(1000 + n * 3),
            "hiddenSubscriberCount": False,
            "videoCount": str(n),
        },
        "status": {
            "privacyStatus": "public",
            "isLinked": True,
            "longUploadsStatus": "longUploadsUnspecified",
            "madeForKids": False,
        },
    }

    def loader(p: int) -> Any:
        return lambda: source.playlist_entries(p, count)

    lazy = [(source.playlist_resource(p, count), loader(p)) for p in range(count)]
    return Dataset(
        channels=[channel],
        note=f"Synthetic channel: n={n}, seed={seed}. Every name, id and number is invented.",
        source=source,
        lazy_playlists=lazy,
    )


def expected_chapters(ds: Dataset, video_id: str) -> list[tuple[int, str]] | None:
    """The chapters YouTube would show for a synthetic video as generated ([] when its
    description has no valid list), or None if the video is not a synthetic one."""
    source = ds.source
    if not isinstance(source, SyntheticVideos) or video_id not in source.index:
        return None
    return list(source.plan(source.index[video_id]).chapters)


def chapter_form(ds: Dataset, video_id: str) -> str | None:
    """Which of ``FORMS`` the generated description uses for its chapter list, if any."""
    source = ds.source
    if not isinstance(source, SyntheticVideos) or video_id not in source.index:
        return None
    return source.plan(source.index[video_id]).chapter_form

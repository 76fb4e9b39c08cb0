"""The labelled set for words, meaning and hybrid search, and the sample index it runs on.

Queries on the sample channel (data/sample_channel.json) and its invented transcripts
(data/sample_transcripts.json), of five kinds: `exact` (words as spoken), `variant` (another
spelling: okurigana, full-width, a middle dot), `paraphrase` (other words for what is said),
`question` (a question in plain words) and `offtopic` (nothing in the archive answers).
Each expected target is (video id, second) for a moment of a transcript (a hit counts when it
is on that video within TOLERANCE seconds), or (video id, None) for the video as a whole.

`build_sample_index(path)` stores the sample through the project's own functions (save_videos,
import_transcript): no emulator, so the bench and the tests share one cheap set-up.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOLERANCE = 30.0

K, N, G, L = "kD7mQx2LrVw", "Ns9wE3hTq6b", "Gf1pR6yLk4x", "Lm0qW4zJd7g"
X, B, P, H = "Xa3vN8pQe1s", "bR5tY2uHc9k", "Pz8cF1sKv3n", "Hy6eT9rBw2m"
J, V, W = "Jq4nU7xDa5f", "Vc2kS5gMz8p", "Wt7bZ0vCj2e"

# (kind, query, targets)
QUERIES: list[tuple[str, str, set]] = [
    ("exact", "心理的安全性", {(K, 2000), (L, 240)}),
    ("exact", "ガバメントクラウド", {(N, 1665), (G, 1060)}),
    ("exact", "共同調達", {(K, 1350)}),
    ("exact", "書かない窓口", {(N, 1985)}),
    ("exact", "CIO補佐官", {(K, 2530), (N, 3135)}),
    ("exact", "前例踏襲", {(K, 1775), (L, 130)}),
    ("exact", "補助金", {(G, 1568)}),
    ("exact", "マイナンバーカード", {(N, 990)}),
    ("exact", "テレワーク", {(K, 3735)}),
    ("exact", "庁内報", {(K, 580)}),
    ("exact", "仕様書", {(K, 2882)}),
    ("exact", "推奨データセット", {(N, 2690)}),
    ("variant", "重点取り組み事項", {(N, 705)}),
    ("variant", "行政手続きのオンライン化", {(N, 1450)}),
    ("variant", "ＣＩＯ補佐官", {(K, 2530), (N, 3135)}),
    ("variant", "ガバメント・クラウド", {(N, 1665), (G, 1060)}),
    ("variant", "子育てや介護の手続き", {(N, 1450)}),
    ("variant", "標準準拠システムへの移行", {(G, 552)}),
    ("variant", "心理的な安全性", {(K, 2000), (L, 240)}),
    ("variant", "オープン・データの公開", {(N, 2315), (G, 3530)}),
    ("variant", "民間のちからを借りるこつ", {(K, 2740), (H, None)}),
    ("variant", "ＡＰＩで提供", {(G, 2910)}),
    ("variant", "業務の棚おろし", {(K, 1085)}),
    ("variant", "ＢＰＲは現場の課長が主役", {(K, 3390)}),
    ("paraphrase", "失敗を恐れずに挑戦できる職場の雰囲気づくり", {(K, 2000), (L, 240)}),
    ("paraphrase", "予算が足りないときの進め方", {(K, 1085), (B, None)}),
    ("paraphrase", "複数の自治体でまとめて調達して費用を減らす", {(K, 1350)}),
    ("paraphrase", "民間企業から専門家を採用した事例", {(K, 2530)}),
    ("paraphrase", "外部の事業者に任せきりにしない", {(K, 2740), (H, None)}),
    ("paraphrase", "役所の中に発注の能力を残す", {(K, 2882)}),
    ("paraphrase", "トップが号令をかけるだけでは不十分", {(K, 192)}),
    ("paraphrase", "うまくいった例を職員に広報する", {(K, 580)}),
    ("paraphrase", "住民が申請書に記入しなくて済む窓口", {(N, 1985)}),
    ("paraphrase", "国のクラウド基盤で業務システムを動かす", {(N, 1665), (G, 1060)}),
    ("paraphrase", "住民記録や税のシステムを全国で統一する", {(G, 210), (N, 1665)}),
    ("paraphrase", "移行の費用は国が負担する", {(G, 1565)}),
    ("paraphrase", "公開したデータを実際に活用してもらう", {(G, 3530), (N, 2315)}),
    ("paraphrase", "他の自治体と比較しやすいデータの形式", {(N, 2690), (G, 2460)}),
    ("paraphrase", "アプリ開発者がデータを使いやすくする", {(G, 2910)}),
    ("paraphrase", "役所の手続をインターネットで申請できるようにする", {(N, 1450)}),
    ("paraphrase", "デジタル化で誰も置き去りにしない", {(N, 405)}),
    ("paraphrase", "都道府県と市町村の協力", {(N, 3850)}),
    ("paraphrase", "デジタルに強い職員を内部で育てる", {(N, 3420), (K, 2340), (P, None)}),
    ("paraphrase", "女性や外部の人材の起用", {(K, 4360), (V, None)}),
    ("paraphrase", "柔軟な働き方ができる職場環境", {(K, 3735), (V, None)}),
    ("paraphrase", "業務の見直しは現場の管理職が主導する", {(K, 3390)}),
    ("paraphrase", "幹部がDXを情報部門任せにしない", {(K, 3050), (J, None)}),
    ("paraphrase", "小さな成功体験を積み重ねる", {(L, 450), (K, 580)}),
    ("paraphrase", "昔からのやり方を変えられない組織", {(K, 1775), (L, 130)}),
    ("paraphrase", "法律で自治体に課された責任", {(N, 140)}),
    (
        "question",
        "お金がない自治体はどうやってDXを進めればいいですか",
        {(K, 1085), (K, 1350), (B, None)},
    ),
    ("question", "組織の文化を変えるにはどうすればいい?", {(K, 1775), (L, 2), (L, 130), (L, None)}),
    ("question", "システム標準化の期限はいつまで?", {(G, 552)}),
    ("question", "ガバメントクラウドは必ず使わないといけないの?", {(G, 1060)}),
    ("question", "マイナンバーカードの普及について話しているところは?", {(N, 990)}),
    ("question", "DXの大切さを職員全員に理解してもらうには?", {(K, 110), (K, 192), (X, None)}),
    ("question", "専門の人材はどうやって確保すればいい?", {(K, 2340), (N, 3420), (P, None)}),
    ("question", "この講演の講師は誰ですか", {(N, 40), (G, 5), (N, None), (G, None)}),
    ("question", "質疑応答はどこから始まる?", {(N, 3685)}),
    ("question", "オープンデータは何から始めればいい?", {(N, 2315), (G, 2120)}),
    ("question", "推進計画の重点事項はいくつある?", {(N, 705)}),
    ("question", "民間企業とうまく協力するにはどうする?", {(K, 2740), (H, None)}),
    ("question", "経験者の座談会の全体版はどれ?", {(K, None)}),
    ("question", "茨城県で開かれたセミナーの講演は?", {(N, None)}),
    ("question", "ライブ配信の基礎セミナーはいつ?", {(W, None)}),
    ("offtopic", "量子コンピュータの原理", set()),
    ("offtopic", "今日の天気予報", set()),
    ("offtopic", "サッカーワールドカップの結果", set()),
    ("offtopic", "おいしいラーメン屋", set()),
    ("offtopic", "新幹線の時刻表", set()),
    ("offtopic", "株価の見通し", set()),
]


def is_relevant(hit: dict, targets: set) -> bool:
    """A hit answers a query when it is on a target video (at the target moment, if any)."""
    for video_id, second in targets:
        if hit["video_id"] != video_id:
            continue
        if second is None:
            return True
        start = hit.get("start_seconds")
        if hit.get("match_kind") in ("transcript", "chapter") and start is not None:
            end = hit.get("end_seconds") or start
            if start - TOLERANCE <= second <= end + TOLERANCE:
                return True
    return False


def rank_of_first(hits: list[dict], targets: set) -> int | None:
    """The 1-based rank of the first relevant hit, or None."""
    for rank, hit in enumerate(hits, 1):
        if is_relevant(hit, targets):
            return rank
    return None


def quality(search_fn, queries=QUERIES, k: int = 5) -> dict:
    """recall@k (share of answerable queries with a relevant hit in the top k) and MRR."""
    found, reciprocal, answerable = 0, 0.0, 0
    by_kind: dict[str, list[int]] = {}
    for kind, query, targets in queries:
        if not targets:
            continue
        answerable += 1
        rank = rank_of_first(search_fn(query)[:k], targets)
        by_kind.setdefault(kind, [0, 0])
        by_kind[kind][1] += 1
        if rank is not None:
            found += 1
            reciprocal += 1 / rank
            by_kind[kind][0] += 1
    return {
        "queries": answerable,
        f"recall@{k}": round(found / answerable, 3),
        "mrr": round(reciprocal / answerable, 3),
        "by_kind": {kind: f"{f}/{n}" for kind, (f, n) in by_kind.items()},
    }


def _vtt(cues: list) -> str:
    def stamp(s: float) -> str:
        h, rest = divmod(s, 3600)
        m, sec = divmod(rest, 60)
        return f"{int(h):02d}:{int(m):02d}:{sec:06.3f}"

    blocks = [f"{stamp(s)} --> {stamp(e)}\n{text}" for s, e, text in cues]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def build_sample_index(path) -> None:
    """The sample channel and one transcript per captioned video (the written one first)."""
    from archivesync.db import store
    from archivesync.db.schema import open_db
    from archivesync.transcripts.store import import_transcript

    channel = json.loads((REPO / "data" / "sample_channel.json").read_text("utf-8"))
    tracks = json.loads((REPO / "data" / "sample_transcripts.json").read_text("utf-8"))
    now = "2024-05-01T00:00:00Z"
    db = open_db(path)
    with db.atomic():
        store.save_videos(db, channel["videos"], now)
        best: dict[str, dict] = {}
        for track in tracks["tracks"]:
            if track["videoId"] not in best or track["trackKind"] == "standard":
                best[track["videoId"]] = track
        for video_id, track in best.items():
            import_transcript(db, video_id, "sample.vtt", _vtt(track["cues"]), "vtt", now)
    db.conn.close()

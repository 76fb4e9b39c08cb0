"""A small, realistic channel for the analysts' tests, and the labelled search queries.

The videos are what a Japanese local-government research institute publishes: seminars,
lectures and training sessions, with descriptions carrying chapter lists in the usual Japanese
forms. Some text is there on purpose: full-width ＤＸ/ＡＩ, half-width katakana (ｾﾐﾅｰ), words only
in chapter titles or only in tags, and FTS syntax written literally (a lecture on searching
literature databases quotes "防災" AND 計画, NEAR(...), title:...).

`make_resource` builds videos.list resources as the API sends them, for `store.save_videos`.
"""

from __future__ import annotations

from archivesync.db import store
from archivesync.parsing import normalize_text, parse_chapters, parse_duration

CHANNEL = "UCresearchInstitute0001"
NOW = "2025-03-01T00:00:00Z"


def make_resource(
    video_id: str,
    title: str,
    description: str = "",
    tags: list[str] | None = None,
    published: str = "2024-04-01T01:00:00Z",
    duration: str = "PT1H30M",
    views: int = 100,
) -> dict:
    return {
        "id": video_id,
        "etag": f"etag-{video_id}",
        "snippet": {
            "publishedAt": published,
            "channelId": CHANNEL,
            "title": title,
            "description": description,
            "tags": tags or [],
            "categoryId": "27",
            "liveBroadcastContent": "none",
            "thumbnails": {},
        },
        "contentDetails": {"duration": duration, "caption": "false", "definition": "hd"},
        "statistics": {"viewCount": str(views), "likeCount": "1", "commentCount": "0"},
        "status": {"privacyStatus": "public"},
    }


def _v(n: int, title: str, description: str, tags: list[str], published: str, **kw) -> dict:
    return make_resource(f"vid{n:03d}", title, description, tags, published, **kw)


VIDEOS = [
    _v(1, "自治体DX推進セミナー「はじめの一歩」",
       "自治体DXを進めるための基本的な考え方を解説します。\n"
       "講師：地方行政研究所 主任研究員 佐藤 健一\n\n"
       "0:00 開会挨拶\n3:15 DXとは何か\n18:40 庁内推進体制のつくり方\n45:00 質疑応答",
       ["自治体DX", "デジタル化", "行政"], "2021-05-10T01:00:00Z"),
    _v(2, "【研修】窓口改革と書かない窓口の実践",
       "住民の負担を減らす「書かない窓口」の導入事例を紹介します。\n"
       "【0:00】オープニング\n【2:30】北見市の事例\n【25:10】導入の手順\n【50:00】まとめ",
       ["窓口改革", "書かない窓口", "住民サービス"], "2021-07-01T01:00:00Z"),
    _v(3, "人材育成シンポジウム2021 基調講演",
       "自治体職員の人材育成をテーマにしたシンポジウムの基調講演です。\n"
       "0:00 開会\n5:00 基調講演「これからの公務員像」\n1:10:00 パネルディスカッション",
       ["人材育成", "公務員", "シンポジウム"], "2021-09-15T01:00:00Z", duration="PT2H"),
    _v(4, "地域防災計画の見直しと避難所運営",
       "大規模災害に備えた地域防災計画の見直しのポイントを解説。\n"
       "０：００　はじめに\n１２：３０　計画見直しの視点\n３５：００　避難所運営の課題\n"
       "５８：２０　質疑応答",
       ["防災", "避難所", "地域防災計画"], "2021-11-20T01:00:00Z"),
    _v(5, "生成AIの業務活用研修（入門編）",
       "生成AI（ChatGPT等）を行政事務で安全に使うための入門研修です。\n"
       "0:00 研修の目的\n4:00 生成AIの仕組み\n20:00 活用事例\n40:00 情報セキュリティ上の注意",
       ["生成AI", "ChatGPT", "研修"], "2023-06-01T01:00:00Z"),
    _v(6, "ＤＸ人材の育成と確保 ― 小規模自治体の挑戦",
       "デジタル人材をどう育て、どう確保するか。小規模自治体の取組を紹介します。\n"
       "0:00 開会\n1:30 人口5千人の町のDX\n22:00 外部人材の活用\n47:30 質疑",
       ["ＤＸ", "人材確保", "小規模自治体"], "2022-02-03T01:00:00Z"),
    _v(7, "オープンデータ活用講座 第1回",
       "オープンデータの基礎と、自治体が公開すべきデータセットについて。\n"
       "0:00 はじめに\n6:00 オープンデータとは\n30:00 推奨データセット\n55:00 演習の案内",
       ["オープンデータ", "データ利活用"], "2022-04-12T01:00:00Z"),
    _v(8, "オープンデータ活用講座 第2回（演習）",
       "第1回に続き、実際のデータを使ったグループ演習を行います。\n"
       "0:00 前回のふりかえり\n8:00 グループワーク\n50:00 発表と講評",
       ["オープンデータ", "演習"], "2022-04-19T01:00:00Z"),
    _v(9, "地域包括ケアシステムの現状と課題",
       "高齢化が進む地域での地域包括ケアの実践について、保健師が語ります。\n"
       "0:00 開会\n2:00 地域包括ケアとは\n28:00 多職種連携\n52:00 質疑応答",
       ["地域包括ケア", "高齢者福祉", "介護予防"], "2022-06-08T01:00:00Z"),
    _v(10, "子育て支援施策のEBPM",
       "子育て支援施策をデータで検証するEBPMの実践例です。\n"
       "0:00 はじめに\n10:00 ロジックモデル\n35:00 効果検証の方法\n1:00:00 まとめ",
       ["子育て支援", "EBPM", "政策評価"], "2022-07-21T01:00:00Z"),
    _v(11, "公共交通の再編 ― デマンド交通の導入事例",
       "路線バスの縮小が続く中、デマンド交通を導入した市の事例を紹介。\n"
       "0:00 開会\n3:00 地域公共交通の現状\n26:00 デマンド交通の設計\n49:00 質疑応答",
       ["公共交通", "デマンド交通", "まちづくり"], "2022-09-01T01:00:00Z"),
    _v(12, "観光振興とDMO",
       "観光地域づくり法人（DMO）の役割と、自治体との連携について。",
       ["観光", "DMO"], "2022-10-05T01:00:00Z", duration="PT45M"),
    _v(13, "文献データベース検索講座（図書館職員研修）",
       "論文や報告書を探すための検索式の書き方を学びます。\n"
       '検索式の例："防災" AND 計画、NEAR(防災 計画)、前方一致* 、-除外語、title:防災\n'
       "AND / OR / NOT の使い分けも解説します。\n"
       "0:00 はじめに\n5:00 キーワードの選び方\n25:00 演算子の使い方\n45:00 演習",
       ["図書館", "情報検索", "研修"], "2022-11-11T01:00:00Z"),
    _v(14, "自治体ＤＸ 推進計画の策定方法",
       "自治体ＤＸ推進計画の策定手順を、ひな形を使って解説します。\n"
       "0:00 開会\n4:00 計画策定の流れ\n30:00 KPIの設定\n52:00 質疑応答",
       ["自治体ＤＸ", "計画策定"], "2023-01-17T01:00:00Z"),
    _v(15, "情報セキュリティ研修 2023",
       "職員向け情報セキュリティ研修。標的型メールへの対応を中心に。\n"
       "0:00 開会\n2:00 最近のインシデント\n20:00 標的型メール訓練\n40:00 確認テスト",
       ["情報セキュリティ", "研修"], "2023-02-02T01:00:00Z"),
    _v(16, "防災訓練の新しいかたち",
       "住民参加型の防災訓練を企画するポイント。VRを使った訓練も紹介します。\n"
       "0:00 はじめに\n3:00 訓練の目的\n21:00 VR防災訓練の紹介\n44:00 質疑応答",
       ["防災", "防災訓練", "住民参加"], "2023-03-09T01:00:00Z"),
    _v(17, "AI・RPAによる業務改革",
       "AI-OCRとRPAを組み合わせた業務改革（BPR）の事例。\n"
       "0:00 開会\n4:00 業務の棚卸し\n24:00 AI-OCRの導入\n46:00 RPAの運用",
       ["AI", "RPA", "BPR"], "2023-04-25T01:00:00Z"),
    _v(18, "ｾﾐﾅｰ 行政手続のオンライン化",
       "マイナポータルを使った行政手続のオンライン化について。\n"
       "0:00 開会\n3:00 オンライン化の現状\n25:00 マイナンバーカードの活用\n48:00 質疑応答",
       ["オンライン申請", "マイナンバー"], "2023-05-30T01:00:00Z"),
    _v(19, "議会のDX ― オンライン委員会の運営",
       "議会におけるDXとオンライン委員会の実例を紹介します。",
       ["議会", "DX"], "2023-07-04T01:00:00Z", duration="PT38M"),
    _v(20, "人材育成基本方針の改定に向けて",
       "人材育成基本方針の改定について、人事担当者向けに解説します。\n"
       "0:00 開会\n5:00 改定の背景\n30:00 求められる職員像\n55:00 研修体系の見直し",
       ["人材育成", "人事", "政策形成能力"], "2023-08-22T01:00:00Z"),
    _v(21, "窓口DXと住民満足度",
       "窓口のデジタル化が住民満足度にどう影響したかを調査しました。\n"
       "0:00 はじめに\n4:00 調査の概要\n22:00 結果\n40:00 考察",
       ["窓口", "住民満足度", "DX"], "2023-09-13T01:00:00Z"),
    _v(22, "Q&Aで学ぶ個人情報保護制度",
       "改正個人情報保護法について、よくある質問にQ&A形式で答えます。\n"
       "0:00 開会\n2:00 Q1 条例との関係\n15:00 Q2 匿名加工情報\n30:00 Q3 開示請求",
       ["個人情報保護", "法務"], "2023-10-02T01:00:00Z"),
    _v(23, "データ分析入門 Python と Excel",
       "Excel と Python(pandas)で行政データを分析する入門講座。C++ やRは扱いません。\n"
       "0:00 はじめに\n5:00 Excelでの集計\n25:00 Pythonの基礎\n50:00 演習",
       ["データ分析", "Python", "Excel"], "2023-11-07T01:00:00Z"),
    _v(24, "脱炭素先行地域の取組",
       "脱炭素先行地域に選ばれた市の取組と、地域経済への効果。\n"
       "0:00 開会\n3:00 脱炭素先行地域とは\n28:00 事業の概要\n50:00 質疑応答",
       ["脱炭素", "ゼロカーボン", "環境"], "2023-12-12T01:00:00Z"),
    _v(25, "空き家対策の最前線",
       "増え続ける空き家への対策について、法改正のポイントと市町村の取組。\n"
       "開会 0:00\n法改正のポイント 4:30\n市町村の取組 26:00\n質疑応答 48:00",
       ["空き家", "まちづくり", "住宅政策"], "2024-01-16T01:00:00Z"),
    _v(26, "ガバメントクラウド移行の実務",
       "基幹業務システムの標準化とガバメントクラウドへの移行の進め方。\n"
       "0:00 開会\n2:00 標準化の概要\n24:00 移行計画\n50:00 ベンダーとの調整",
       ["ガバメントクラウド", "標準化", "自治体DX"], "2024-02-20T01:00:00Z"),
    _v(27, "ＡＩ議事録作成ツールの比較検証",
       "会議録作成にＡＩを使う際の精度と課題を比較検証しました。\n"
       "0:00 はじめに\n3:00 検証の方法\n20:00 結果\n38:00 導入のポイント",
       ["ＡＩ", "議事録", "実証実験"], "2024-03-05T01:00:00Z"),
    _v(28, "防災とDX ― 災害情報システムの連携",
       "災害時の情報共有を支える防災DXの取組を紹介します。\n"
       "0:00 開会\n2:00 防災DXの全体像\n25:00 システム連携\n47:00 質疑応答",
       ["防災", "DX", "災害情報"], "2024-04-09T01:00:00Z"),
    _v(29, "新任管理職研修 マネジメントの基礎",
       "新たに管理職になった職員向けの研修です。\n"
       "0:00 開会\n3:00 管理職の役割\n25:00 人材マネジメント\n50:00 グループワーク",
       ["管理職", "マネジメント", "研修"], "2024-04-23T01:00:00Z"),
    _v(30, "多文化共生のまちづくり",
       "外国人住民とともに暮らすまちづくりと、やさしい日本語の活用。\n"
       "0:00 はじめに\n4:00 外国人住民の現状\n27:00 やさしい日本語\n49:00 質疑応答",
       ["多文化共生", "やさしい日本語"], "2024-05-14T01:00:00Z"),
    _v(31, "公民連携(PPP/PFI)の基礎",
       "公民連携（PPP/PFI）の基本的な仕組みと導入の判断基準について。\n"
       "0:00 開会\n3:00 PPP/PFIとは\n26:00 VFMの考え方\n48:00 事例紹介",
       ["PPP", "PFI", "公民連携"], "2024-06-04T01:00:00Z"),
    _v(32, "EBPM実践ワークショップ",
       "ロジックモデルを作りながらEBPMの考え方を身につけるワークショップ。\n"
       "0:00 開会\n3:00 ワークの説明\n15:00 グループワーク\n60:00 全体共有",
       ["EBPM", "ワークショップ", "政策形成"], "2024-06-25T01:00:00Z", duration="PT1H20M"),
    _v(33, "スマートシティと地域交通",
       "スマートシティの取組の中で、地域交通のデータ活用を考えます。\n"
       "0:00 開会\n2:30 スマートシティの潮流\n24:00 交通データの活用\n46:00 まとめ",
       ["スマートシティ", "交通", "データ活用"], "2024-07-09T01:00:00Z"),
    _v(34, "観光DXと地域経済",
       "観光分野のDX（予約・決済・データ分析）が地域経済に与える効果。\n"
       "0:00 はじめに\n3:00 観光DXとは\n26:00 事例：温泉地の取組\n49:00 質疑応答",
       ["観光", "観光DX", "地域経済"], "2024-07-30T01:00:00Z"),
    _v(35, "市町村合併20年の検証",
       "平成の大合併から20年。合併市町村の行財政の変化を検証します。\n"
       "0:00 開会\n4:00 合併の経緯\n27:00 財政指標の推移\n50:00 今後の課題",
       ["市町村合併", "地方財政"], "2024-08-20T01:00:00Z"),
    _v(36, "財政健全化と公共施設マネジメント",
       "公共施設の老朽化と財政健全化を両立させるための総合管理計画。\n"
       "0:00 開会\n3:00 公共施設の現状\n25:00 総量の最適化\n47:00 質疑応答",
       ["財政健全化", "公共施設", "ファシリティマネジメント"], "2024-09-10T01:00:00Z"),
    _v(37, "ドローン活用による災害対応",
       "災害時の被害把握にドローンを活用する自治体の事例と、運用上の課題。\n"
       "0:00 開会\n2:00 ドローンの活用場面\n23:00 運用体制\n45:00 質疑応答",
       ["ドローン", "防災", "災害対応"], "2024-10-01T01:00:00Z"),
    _v(38, "自治体職員のためのプレゼンテーション講座",
       "伝わる資料の作り方と話し方。住民説明会でも役立ちます。\n"
       "0:00 はじめに\n3:00 資料構成の基本\n25:00 話し方のコツ\n48:00 ふりかえり",
       ["プレゼンテーション", "研修"], "2024-10-22T01:00:00Z"),
    _v(39, "人口減少時代の地域経営",
       "人口減少が進む中での持続可能な地域経営について、研究所長が講演します。\n"
       "0:00 開会\n2:00 人口減少の現状\n30:00 地域経営の視点\n1:05:00 質疑応答",
       ["人口減少", "地域経営", "講演"], "2024-11-12T01:00:00Z", duration="PT1H30M"),
    _v(40, "キャッシュレス決済と窓口業務",
       "窓口での手数料のキャッシュレス決済導入の手順と効果。\n"
       "0:00 はじめに\n3:00 導入の背景\n20:00 決済手段の選定\n40:00 効果と課題",
       ["キャッシュレス", "窓口", "DX"], "2024-12-03T01:00:00Z"),
    _v(41, "移住定住促進のためのシティプロモーション",
       "移住・定住を促すためのシティプロモーションの戦略と評価。\n"
       "0:00 開会\n3:00 シティプロモーションとは\n26:00 移住者インタビュー\n49:00 質疑応答",
       ["移住定住", "シティプロモーション"], "2025-01-14T01:00:00Z"),
    _v(42, "研究所 年次報告会 2024",
       "当研究所の2024年度の研究成果を報告します。(AI)活用の共同研究、防災DX、人材育成ほか。\n"
       "0:00 開会\n2:00 所長挨拶\n10:00 研究報告1 生成ＡＩ\n40:00 研究報告2 防災\n"
       "1:10:00 閉会",
       ["年次報告", "研究成果"], "2025-02-04T01:00:00Z", duration="PT1H30M"),
    # Removed from the channel later (see REMOVED): still indexed, left out by default.
    _v(43, "【削除済】防災講演会 2020 人材",
       "2020年に開催した防災講演会の記録（公開終了）。",
       ["防災"], "2020-10-01T01:00:00Z", duration="PT50M"),
    _v(44, "窓口職員のための接遇研修",
       "窓口での接遇の基本を学ぶ研修です。\n"
       "0:00 開会\n2:00 第一印象\n20:00 クレーム対応\n40:00 ロールプレイ",
       ["接遇", "研修"], "2025-02-18T01:00:00Z"),
]  # fmt: skip

REMOVED = {"vid043"}

# Queries: 1-2 character words, acronyms in both widths, mixed, several words, katakana, words
# only in chapter titles or only in tags, FTS syntax and punctuation that must be literal.
QUERIES = [
    "人材", "防災", "窓口", "DX", "AI", "ＤＸ", "ａｉ", "自治体ＤＸ", "自治体DX", "生成ＡＩ",
    "市", "ケア", "オープンデータ", "セミナー", "ふりかえり", "グループワーク", "人材 育成",
    "防災 訓練", "DX 人材 窓口", "政策形成能力", "ゼロカーボン", "デマンド交通", "質疑応答",
    '"防災"', "NEAR(防災", "前方一致*", "-除外語", "title:防災", "(AI)", "AI OR DX",
    "NOT 窓口", "Q&A", "C++", "PPP/PFI", "　防災　計画　", "AND", "：", "交通", "子育て",
    "ＡＩ－ＯＣＲ", "x", "研修 ｾﾐﾅｰ",
]  # fmt: skip

# Hand-labelled: what a person reading the corpus above expects.
HAND_LABELLED = {
    # Only in chapter titles (and so in the description's chapter lines).
    "グループワーク": {"vid008", "vid029", "vid032"},
    # Only in a tag.
    "政策形成能力": {"vid020"},
    "ゼロカーボン": {"vid024"},
    # Full-width and half-width forms find each other.
    "自治体ＤＸ": {"vid001", "vid014", "vid026"},
    "生成ＡＩ": {"vid005", "vid042"},
    # Half-width katakana ｾﾐﾅｰ is セミナー after NFKC.
    "セミナー": {"vid001", "vid018"},
    # FTS syntax taken literally: only the database-searching lecture writes these.
    '"防災"': {"vid013"},
    "NEAR(防災": {"vid013"},
    "title:防災": {"vid013"},
    "-除外語": {"vid013"},
    # Only the annual report writes (AI); 生成AI（ChatGPT等） has the bracket after AI.
    "(AI)": {"vid042"},
    "Q&A": {"vid022"},
    "C++": {"vid023"},
    "ＡＩ－ＯＣＲ": {"vid017"},
    # Ideographic spaces split words like ASCII spaces.
    "　防災　計画　": {"vid004", "vid013"},
}


def fields(resource: dict) -> list[str]:
    """The searchable texts of a video, normalised: title, description, each tag, each chapter
    title (as YouTube would show the chapters). Computed here, not by archivesync.search."""
    snippet = resource["snippet"]
    duration = parse_duration(resource["contentDetails"]["duration"])
    chapters = parse_chapters(snippet["description"], duration)
    texts = [snippet["title"], snippet["description"], *snippet["tags"]]
    texts += [c.title for c in chapters]
    return [normalize_text(t) for t in texts]


def brute_force(query: str, *, include_removed: bool = False) -> set[str]:
    """Videos whose texts contain every word of `query`: the definition of a match."""
    terms = normalize_text(query).split()
    return {
        r["id"]
        for r in VIDEOS
        if (include_removed or r["id"] not in REMOVED)
        and all(any(t in f for f in fields(r)) for t in terms)
    }


def build(db, now: str = NOW) -> None:
    """Save the corpus (and index it, as the wired store will), removed videos marked."""
    from archivesync.db.search_index import index_videos

    store.save_videos(db, VIDEOS, now)
    index_videos(db, [r["id"] for r in VIDEOS])
    store.mark_videos_removed(db, REMOVED, "unavailable", now)

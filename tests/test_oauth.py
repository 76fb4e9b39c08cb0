"""OAuth end to end: `archivesync auth` against the emulator's consent page and token endpoint,
the token file, refresh and revocation with the real google-auth, and the emulator's Bearer rules
on captions.list / captions.download."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from archivesync.emulator import Emulator, load_dataset
from archivesync.emulator.captions import load_captions
from archivesync.emulator.oauth import ANALYTICS_SCOPE, FORCE_SSL_SCOPE, client_secrets
from archivesync.errors import AuthError
from archivesync.oauth import (
    SCOPES,
    authorized_http,
    ensure_fresh,
    load_credentials,
    resolve_token_file,
)
from tests.helpers import PYTHON, REPO, SAMPLE
from tests.oauth_helpers import refresh_token_of, write_token_file
from tests.test_emulator_schema import check

TRANSCRIPTS = REPO / "data" / "sample_transcripts.json"
OTHER_CHANNEL = "UCzzzzzzzzzzzzzzzzzzzzzz"


@pytest.fixture(scope="module")
def emu():
    with Emulator(load_dataset(SAMPLE), captions=load_captions(TRANSCRIPTS)) as server:
        yield server


@pytest.fixture
def token(tmp_path, emu):
    return write_token_file(tmp_path / "token.json", emu)


def captions_service(credentials, emu):
    return build(
        "youtube",
        "v3",
        http=authorized_http(credentials),
        client_options={"api_endpoint": emu.url},
        static_discovery=True,
        cache_discovery=False,
    )


def raw(emu, path, headers=None):
    request = urllib.request.Request(emu.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def reason(body: bytes) -> str:
    return json.loads(body)["error"]["errors"][0]["reason"]


@pytest.mark.dates
@pytest.mark.parametrize("lifetime", [None, 7 * 86400], ids=["published", "testing-app"])
def test_auth_flow_end_to_end(tmp_path, emu, lifetime):
    """The installed-app flow: URL printed, consent page redirects to the loopback server,
    the code is exchanged, and a 0600 authorized-user file comes out that refreshes. An app left
    in "Testing" gets a refresh token that expires: the file records when."""
    emu.oauth.refresh_token_lifetime = lifetime
    secrets_file = tmp_path / "client_secret.json"
    secrets_file.write_text(json.dumps(client_secrets(emu.url)))
    token_file = tmp_path / "token.json"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [PYTHON, "-m", "archivesync", "auth", "--client-secrets", str(secrets_file),
         "--token", str(token_file), "--no-browser", "--timeout", "30"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(emu.url + "/o/oauth2/auth"):
                url = line.strip()
                break
        assert url, "".join(seen)
        assert "scope=" in url and "code_challenge=" in url
        # --port 0: the prompt names the port the redirect server got, for an SSH tunnel.
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        assert f"tunnelled to port {urlsplit(redirect).port} here" in "".join(seen)
        # The "browser": the emulator's consent page answers 302 to the loopback redirect_uri.
        with urllib.request.urlopen(url, timeout=10) as page:
            assert b"authorised" in page.read()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    info = json.loads(token_file.read_text())
    expected = {"type", "client_id", "client_secret", "refresh_token", "token_uri", "scopes"}
    if lifetime:
        expected.add("refresh_token_expires_at")
        expires = datetime.strptime(info["refresh_token_expires_at"], "%Y-%m-%dT%H:%M:%SZ")
        # Against the file's own time: `auth` ran on the real clock, which `dates` moves here.
        written = datetime.fromtimestamp(token_file.stat().st_mtime, UTC)
        left = expires.replace(tzinfo=UTC) - written
        assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
    assert set(info) == expected
    assert info["token_uri"] == emu.url + "/token"
    assert set(info["scopes"]) == set(SCOPES)
    assert info["refresh_token"] not in out + err + "".join(seen)
    creds = load_credentials(token_file)
    ensure_fresh(creds)
    assert creds.token and creds.token not in out + err
    listing = captions_service(creds, emu).captions().list(part="snippet", videoId="kD7mQx2LrVw")
    assert len(listing.execute()["items"]) == 2


def test_consent_page_only_redirects_to_loopback(emu):
    status, body = raw(
        emu,
        "/o/oauth2/auth?response_type=code&client_id=archivesync-demo.apps.googleusercontent.com"
        "&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=x",
    )
    assert status == 400 and json.loads(body)["error"] == "invalid_request"


@pytest.mark.dates
def test_token_file_keeps_its_token_uri_and_refreshes_there(token, emu):
    creds = load_credentials(token)
    assert creds.token_uri == emu.url + "/token"
    before = emu.oauth.token_requests
    ensure_fresh(creds)
    assert emu.oauth.token_requests == before + 1
    assert creds.valid


def test_revoked_token_is_an_auth_error_without_secrets(token, emu):
    refresh = refresh_token_of(token)
    emu.oauth.revoke(refresh)
    with pytest.raises(AuthError) as excinfo:
        ensure_fresh(load_credentials(token))
    message = str(excinfo.value)
    assert "invalid_grant" in message and "archivesync auth" in message
    assert refresh not in message and "secret" not in message


@pytest.mark.dates
def test_expired_access_token_is_refreshed_on_401(token, emu):
    creds = load_credentials(token)
    service = captions_service(creds, emu)
    service.captions().list(part="id", videoId="Gf1pR6yLk4x").execute()
    first = creds.token
    emu.oauth.expire_access_tokens()
    # google-auth still believes its token valid; the 401 makes AuthorizedHttp refresh once.
    service.captions().list(part="id", videoId="Gf1pR6yLk4x").execute()
    assert creds.token != first


@pytest.mark.parametrize(
    "content, mode, needle",
    [
        (None, 0o600, "does not exist"),
        ("{", 0o600, "not JSON"),
        ('{"client_id": "a"}', 0o600, "lacks client_secret, refresh_token, token_uri"),
        ('{"client_id": "a", "client_secret": "s3cr3t", "refresh_token": "r", '
         '"token_uri": "http://x"}', 0o644, "chmod 600"),
    ],
)  # fmt: skip
def test_bad_token_files(tmp_path, content, mode, needle):
    path = tmp_path / "token.json"
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(AuthError) as excinfo:
        load_credentials(path)
    assert needle in str(excinfo.value)
    assert "s3cr3t" not in str(excinfo.value)


def test_no_token_names_archivesync_auth(monkeypatch):
    monkeypatch.delenv("ARCHIVESYNC_OAUTH_TOKEN_FILE", raising=False)
    with pytest.raises(AuthError, match="archivesync auth"):
        resolve_token_file(None)


def test_bearer_rules_and_quota(tmp_path, emu):
    path = "/youtube/v3/captions?part=snippet&videoId=kD7mQx2LrVw"
    assert reason(raw(emu, path)[1]) == "required"
    status, body = raw(emu, path, {"Authorization": "Bearer ya29.nonsense"})
    assert (status, reason(body)) == (401, "authError")
    # A token granted only analytics may not read captions.
    narrow_file = write_token_file(tmp_path / "a.json", emu, scopes=[ANALYTICS_SCOPE])
    with pytest.raises(AuthError, match="invalid_scope"):
        ensure_fresh(load_credentials(narrow_file))  # asks for both scopes: refused
    narrow = load_credentials(narrow_file, scopes=(ANALYTICS_SCOPE,))
    ensure_fresh(narrow)
    status, body = raw(emu, path, {"Authorization": f"Bearer {narrow.token}"})
    assert (status, reason(body)) == (403, "insufficientPermissions")
    # Another channel's token: captions of this channel's videos are forbidden.
    other_file = write_token_file(tmp_path / "o.json", emu, OTHER_CHANNEL, [FORCE_SSL_SCOPE])
    other = load_credentials(other_file, scopes=(FORCE_SSL_SCOPE,))
    ensure_fresh(other)
    status, body = raw(emu, path, {"Authorization": f"Bearer {other.token}"})
    assert (status, reason(body)) == (403, "forbidden")
    owner = load_credentials(write_token_file(tmp_path / "t.json", emu))
    ensure_fresh(owner)
    before = emu.units_spent()
    status, body = raw(emu, path, {"Authorization": f"Bearer {owner.token}"})
    assert status == 200 and emu.units_spent() - before == 50
    track_id = json.loads(body)["items"][0]["id"]
    status, text = raw(emu, f"/youtube/v3/captions/{track_id}?tfmt=srt",
                       {"Authorization": f"Bearer {owner.token}"})  # fmt: skip
    assert status == 200 and emu.units_spent() - before == 250
    assert text.decode().startswith("1\n00:00:02,000 --> 00:00:06,500\n")


def test_captions_list_matches_the_discovery_document(token, emu):
    service = captions_service(load_credentials(token), emu)
    for video_id in ("kD7mQx2LrVw", "Ns9wE3hTq6b", "Gf1pR6yLk4x", "Pz8cF1sKv3n"):
        body = service.captions().list(part="id,snippet", videoId=video_id).execute()
        assert check(body, {"$ref": "CaptionListResponse"}, "$") == []
    kinds = {
        item["snippet"]["trackKind"]
        for item in service.captions()
        .list(part="snippet", videoId="kD7mQx2LrVw")
        .execute()["items"]
    }
    assert kinds == {"standard", "ASR"}


def test_download_formats_and_refused_asr(token, emu):
    service = captions_service(load_credentials(token), emu)
    items = service.captions().list(part="snippet", videoId="Gf1pR6yLk4x").execute()["items"]
    (asr,) = items
    vtt = service.captions().download_media(id=asr["id"], tfmt="vtt").execute().decode()
    assert vtt.startswith("WEBVTT\nKind: captions\nLanguage: ja\n")
    assert "<c>" in vtt and "align:start position:0%" in vtt
    # Rolling: each finished line comes back as the first line of the next cue.
    assert vtt.count("住民記録や税など20の基幹業務\n") >= 2
    emu.captions.refuse_asr = True
    try:
        with pytest.raises(HttpError) as excinfo:
            service.captions().download_media(id=asr["id"], tfmt="vtt").execute()
        assert excinfo.value.resp.status == 403
    finally:
        emu.captions.refuse_asr = False
    with pytest.raises(HttpError) as excinfo:
        service.captions().download_media(id="AUieDanope", tfmt="vtt").execute()
    assert excinfo.value.resp.status == 404

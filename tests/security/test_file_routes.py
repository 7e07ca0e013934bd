"""File routes and path traversal: Gradio's file routes, its static and asset routes, its proxy and the upload
route read nothing outside what the page serves, however the path is spelled (absolute, ../, percent-encoded
once or twice, backslashes, overlong dots). The secrets tried: /etc/passwd, a .env beside the store, the
learner-records SQLite file, Chroma's own SQLite file and a file of the working folder.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ROOT
from tests.security.conftest import WAIT

CANARY = "TT-CANARY-ENV-6b1f"
SIGNS = ("root:x:0:0", "SQLite format 3", CANARY, "[build-system]")


@pytest.fixture(scope="module")
def target(tutor, tmp_path_factory):
    """The page, its records in a folder beside a .env holding a canary, and the paths an attacker wants."""
    from tests.conftest import serve
    from tutor.app import build_app
    from tutor.feedback import Records
    from tutor.settings import Settings

    folder = tmp_path_factory.mktemp("deployment")
    (folder / ".env").write_text(f"OPENAI_API_KEY={CANARY}\n", encoding="utf-8")
    records = Records(Settings(_env_file=None, data_dir=folder))
    demo = build_app(tutor, records=records)
    url = serve(demo)
    secrets = {"passwd": "/etc/passwd", "env": str(folder / ".env"), "records": str(folder / "records.sqlite3"),
               "chroma": str(tutor.settings.data_dir / "chroma.sqlite3"), "cwd": str(ROOT / "pyproject.toml")}
    assert (folder / "records.sqlite3").exists() and (tutor.settings.data_dir / "chroma.sqlite3").exists()
    yield url, secrets
    demo.close()


def spellings(path: str) -> list[str]:
    """One absolute path as an attacker would spell it after a file route."""
    rel = "../" * 12 + path.lstrip("/")
    return [
        path,
        rel,
        quote(path, safe=""),
        quote(rel, safe=""),
        quote(quote(rel, safe=""), safe=""),  # double-encoded
        rel.replace("/", "\\"),
        ("....//" * 12) + path.lstrip("/"),
        "%2e%2e/" * 12 + path.lstrip("/"),
        "..%c0%af" * 12 + path.lstrip("/"),  # overlong UTF-8 slash
        "/tmp/gradio/" + rel,
    ]


ROUTES = ["file={p}", "gradio_api/file={p}", "gradio_api/file/{p}", "static/{p}", "assets/{p}",
          "gradio_api/static/{p}", "favicon.ico/{p}", "custom_component/x/y/{p}", "gradio_api/proxy={p}"]


def fetch_raw(client: httpx.Client, url: str, path: str, method: str = "GET", **kwargs) -> httpx.Response:
    """Send exactly this path, unnormalised (httpx would resolve ../ itself)."""
    base = httpx.URL(url)
    request = client.build_request(method, url, **kwargs)
    request.url = base.copy_with(raw_path=(base.raw_path.decode().rstrip("/") + "/" + path).encode())
    return client.send(request)


@pytest.mark.parametrize("secret", ["passwd", "env", "records", "chroma", "cwd"])
def test_no_file_route_reads_a_file_outside_the_page(target, secret):
    url, secrets = target
    leaked, tried = [], 0
    with httpx.Client(timeout=WAIT) as client:
        for route in ROUTES:
            for spelled in spellings(secrets[secret]):
                reply = fetch_raw(client, url, route.format(p=spelled))
                tried += 1
                if reply.status_code == 200 and any(sign in reply.text for sign in SIGNS):
                    leaked.append((route.format(p=spelled), reply.status_code))
                assert reply.status_code != 500, route.format(p=spelled)
    assert tried == len(ROUTES) * 10 and leaked == []


def test_the_proxy_route_fetches_nothing_from_another_server(target, leak):
    url, _ = target
    with httpx.Client(timeout=WAIT) as client:
        for spelled in (leak.url + "/leak/proxy", quote(leak.url + "/leak/proxy", safe="")):
            reply = fetch_raw(client, url, f"gradio_api/proxy={spelled}")
            assert reply.status_code in (400, 401, 403, 404, 405), reply.status_code
    assert leak.hits == []


@pytest.mark.parametrize("path", ["gradio_api/upload", "gradio_api/upload/", "upload", "gradio_api/upload?upload_id=x",
                                  "gradio_api//upload", "gradio_api/./upload", "gradio_api/upload%2F"])
def test_every_spelling_of_the_upload_route_takes_no_file(target, path):
    url, _ = target
    files = {"files": ("../../../tmp/tt-planted.html", b"<script>alert(1)</script>", "text/html")}
    with httpx.Client(timeout=WAIT) as client:
        reply = fetch_raw(client, url, path, "POST", files=files)
    assert reply.status_code in (403, 404, 405), (path, reply.status_code, reply.text[:200])
    assert "tt-planted" not in reply.text

"""A provider on a plain-HTTP URL (the embedded backend, ``assistops serve``) loads no trusted
roots, and its client trusts nothing unchecked."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import trustme

from assistops.providers.clients import make_http_client, speaks_tls


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An HTTPS server on loopback whose authority the default client is told to trust."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    roots = tmp_path / "roots.pem"
    authority.cert_pem.write_to_path(str(roots))
    monkeypatch.setenv("SSL_CERT_FILE", str(roots))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_default_client_trusts_the_roots_it_is_given(https_url: str) -> None:
    with make_http_client() as client:
        assert client.get(https_url).status_code == 200


def test_the_plain_http_client_trusts_no_roots_and_never_skips_the_check(https_url: str) -> None:
    with make_http_client(plain_http=True) as client, pytest.raises(httpx2.ConnectError) as caught:
        client.get(https_url)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "tls"),
    [
        ("http://127.0.0.1:8080/v1", False),
        ("HTTP://assistops.lan/v1", False),
        ("https://api.openai.com/v1", True),
        ("https://contoso.services.ai.azure.com/api/projects/p", True),
    ],
)
def test_only_a_plain_http_url_goes_without_roots(url: str, tls: bool) -> None:
    assert speaks_tls(url) is tls

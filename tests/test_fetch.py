"""The fetcher against a real HTTP server: hosts, redirects, caps, conditional GET, errors."""

import time
from http.server import BaseHTTPRequestHandler

import pytest

from documents.errors import FetchError
from documents.fetch import Fetcher, host_allowed
from tests.conftest import Server


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/page":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            body = "<p>年报</p>".encode("gbk")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=GBK")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()  # no Content-Length: the cap must hold while streaming
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
        elif self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://evil.example.com/steal")
            self.end_headers()
        elif self.path == "/home":
            self.send_response(301)
            self.send_header("Location", "/page")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        elif self.path == "/boom":
            self.send_response(503)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = Server(Handler)
    yield server
    server.close()


def fetcher(**kw):
    return Fetcher(user_agent="nianbao-test", allow_private=True, **{"timeout": 5, **kw})


def test_conditional_get_and_charset(site):
    f = fetcher()
    first = f.get(site.base + "/page", allowed_hosts=["127.0.0.1"])
    assert first.charset == "gbk" and first.content.decode("gbk") == "<p>年报</p>" and first.etag == '"v1"'
    second = f.get(site.base + "/page", allowed_hosts=["127.0.0.1"], etag=first.etag)
    assert second.not_modified and second.content == b""


def test_redirect_within_host_is_followed_but_not_to_another_host(site):
    f = fetcher()
    assert f.get(site.base + "/home", allowed_hosts=["127.0.0.1"]).url.endswith("/page")
    with pytest.raises(FetchError) as info:
        f.get(site.base + "/away", allowed_hosts=["127.0.0.1"])
    assert info.value.permanent and "evil.example.com is not among the agency's allowed hosts" in info.value.reason


def test_size_cap_holds_without_content_length(site):
    with pytest.raises(FetchError) as info:
        fetcher(max_bytes=10_000).get(site.base + "/big", allowed_hosts=["127.0.0.1"])
    assert info.value.status == "too_large" and info.value.permanent


def test_timeouts_and_5xx_are_transient_404_is_permanent(site):
    f = fetcher(timeout=0.5)
    with pytest.raises(FetchError) as slow:
        f.get(site.base + "/slow", allowed_hosts=["127.0.0.1"])
    assert not slow.value.permanent and slow.value.status == "timeout"
    with pytest.raises(FetchError) as boom:
        f.get(site.base + "/boom", allowed_hosts=["127.0.0.1"])
    assert not boom.value.permanent and boom.value.status == "http_503"
    with pytest.raises(FetchError) as missing:
        f.get(site.base + "/nothing", allowed_hosts=["127.0.0.1"])
    assert missing.value.permanent


def test_loopback_and_other_schemes_refused_by_default(site):
    f = Fetcher(user_agent="t", timeout=2)
    with pytest.raises(FetchError, match="private or loopback"):
        f.get(site.base + "/page", allowed_hosts=["127.0.0.1"])
    with pytest.raises(FetchError, match="scheme 'file'"):
        f.get("file:///etc/passwd", allowed_hosts=[""])


def test_allowed_hosts_cover_subdomains_only():
    assert host_allowed("www.qinghe.gov.cn", ["qinghe.gov.cn"])
    assert not host_allowed("qinghe.gov.cn.evil.com", ["qinghe.gov.cn"])

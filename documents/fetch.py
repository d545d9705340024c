"""Bounded HTTP fetching: allowed hosts only, size and time caps, conditional GET.

Redirects are followed by hand so that every hop is checked against the agency's allowed
hosts, the scheme and (unless the deployment allows it) private or loopback addresses.
Errors say whether a retry can help (``FetchError.permanent``). No parsing happens here.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from documents.errors import FetchError

MAX_REDIRECTS = 5
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class FetchResult:
    url: str  # final URL after redirects
    status_code: int
    content: bytes  # empty when not_modified
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def host_allowed(host: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """An allowed entry covers the host itself and its subdomains (gov.cn portals use many)."""
    host = host.lower().rstrip(".")
    return any(host == a.lower() or host.endswith("." + a.lower()) for a in allowed)


def _is_private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False  # the request will fail with its own, clearer, error
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast:
            return True
    return False


class Fetcher:
    """One reused httpx client (a client per request costs ~40 ms); thread-safe for GETs."""

    def __init__(self, *, user_agent: str, timeout: float = 20.0, max_bytes: int = 50 * 1024 * 1024,
                 allow_private: bool = False):
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def _check(self, url: str, allowed_hosts: list[str]) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"refused {url}: scheme '{parts.scheme}' is not http(s)", permanent=True,
                             status="refused")
        host = parts.hostname or ""
        if not host_allowed(host, allowed_hosts):
            raise FetchError(f"refused {url}: host {host} is not among the agency's allowed hosts "
                             f"({', '.join(allowed_hosts) or 'none'})", permanent=True, status="refused")
        if not self.allow_private and _is_private(host):
            raise FetchError(f"refused {url}: {host} is a private or loopback address", permanent=True,
                             status="refused")

    def get(self, url: str, *, allowed_hosts: list[str], etag: str | None = None,
            last_modified: str | None = None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url, allowed_hosts)
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    if resp.has_redirect_location:
                        url = urljoin(url, resp.headers.get("location", ""))
                        continue
                    return self._read(url, resp)
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out fetching {url} ({type(exc).__name__})", permanent=False,
                                 status="timeout") from None
            except httpx.TransportError as exc:
                raise FetchError(f"could not reach {url}: {exc}", permanent=False, status="unreachable") from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}", permanent=True, status="refused")

    def _read(self, url: str, resp: httpx.Response) -> FetchResult:
        if resp.status_code == 304:
            return FetchResult(url, 304, b"", etag=resp.headers.get("etag"),
                               last_modified=resp.headers.get("last-modified"), not_modified=True)
        if resp.status_code >= 400:
            transient = resp.status_code in TRANSIENT_STATUS
            raise FetchError(f"HTTP {resp.status_code} from {url}", permanent=not transient,
                             status=f"http_{resp.status_code}")
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"{url} is {int(declared):,} bytes, over the {self.max_bytes:,}-byte cap",
                             permanent=True, status="too_large")
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"{url} exceeds the {self.max_bytes:,}-byte cap", permanent=True,
                                 status="too_large")
            chunks.append(chunk)
        ctype = resp.headers.get("content-type", "")
        charset = None
        for part in ctype.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"\' ').lower()
        return FetchResult(url, resp.status_code, b"".join(chunks), content_type=ctype.split(";")[0].strip(),
                           charset=charset, etag=resp.headers.get("etag"),
                           last_modified=resp.headers.get("last-modified"))

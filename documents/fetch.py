"""Bounded HTTP fetching: allowed hosts only, size and time caps, conditional GET.

Redirects are followed by hand so that every hop is checked against the agency's allowed
hosts, the scheme and (unless the deployment allows it) private or loopback addresses.
Errors say whether a retry can help (``FetchError.permanent``); only transient ones are
retried here, with exponential backoff and full jitter (``retries``, default none: the
Celery task retries a single fetch, the batch poller asks for a few quick ones).
A response that drips bytes slowly is cut off by ``total_timeout``, which a read
timeout alone never trips. No parsing happens here.

The batch poller uses the aiohttp twin of this class (``documents.afetch``): same checks,
same results, same errors; the helpers below are shared by both.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from documents.errors import FetchError

MAX_REDIRECTS = 5
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
REDIRECT_STATUS = {301, 302, 303, 307, 308}
_PRIVATE_TTL = 300.0  # seconds a host's "private or not" answer is kept


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
    attempts: int = 1


def host_allowed(host: str, allowed: list[str] | tuple[str, ...]) -> bool:
    """An allowed entry covers the host itself and its subdomains (gov.cn portals use many)."""
    host = host.lower().rstrip(".")
    return any(host == a.lower() or host.endswith("." + a.lower()) for a in allowed)


_private_cache: dict[str, tuple[float, bool]] = {}
_private_lock = threading.Lock()


def _is_private(host: str) -> bool:
    now = time.monotonic()
    with _private_lock:
        hit = _private_cache.get(host)
    if hit and now - hit[0] < _PRIVATE_TTL:
        return hit[1]
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False  # the request will fail with its own, clearer, error
    private = False
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast:
            private = True
    with _private_lock:
        _private_cache[host] = (now, private)
    return private


def check_url(url: str, allowed_hosts: list[str], allow_private: bool) -> None:
    """Refuse (permanently, with the reason) what the fetcher must never visit."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"refused {url}: scheme '{parts.scheme}' is not http(s)", permanent=True,
                         status="refused")
    host = parts.hostname or ""
    if not host_allowed(host, allowed_hosts):
        raise FetchError(f"refused {url}: host {host} is not among the agency's allowed hosts "
                         f"({', '.join(allowed_hosts) or 'none'})", permanent=True, status="refused")
    if not allow_private and _is_private(host):
        raise FetchError(f"refused {url}: {host} is a private or loopback address", permanent=True,
                         status="refused")


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def status_error(url: str, status: int) -> FetchError:
    return FetchError(f"HTTP {status} from {url}", permanent=status not in TRANSIENT_STATUS,
                      status=f"http_{status}")


def too_large(url: str, max_bytes: int, declared: int | None = None) -> FetchError:
    if declared is not None:
        return FetchError(f"{url} is {declared:,} bytes, over the {max_bytes:,}-byte cap", permanent=True,
                          status="too_large")
    return FetchError(f"{url} exceeds the {max_bytes:,}-byte cap", permanent=True, status="too_large")


def split_content_type(ctype: str) -> tuple[str, str | None]:
    charset = None
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"\' ').lower()
    return ctype.split(";")[0].strip(), charset


def retry_delay(attempt: int, base: float, cap: float = 30.0, retry_after: str | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After (seconds) is honoured up to cap."""
    if retry_after and retry_after.strip().isdigit():
        return min(cap, float(retry_after.strip()))
    return random.uniform(0, min(cap, base * (2 ** attempt)))


class Fetcher:
    """One reused httpx client (a client per request costs ~40 ms); thread-safe for GETs."""

    def __init__(self, *, user_agent: str, timeout: float = 20.0, max_bytes: int = 50 * 1024 * 1024,
                 allow_private: bool = False, total_timeout: float | None = None, retries: int = 0,
                 backoff: float = 0.5):
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.total_timeout = total_timeout or max(timeout * 6, 60.0)
        self.retries, self.backoff = retries, backoff
        self.client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def _check(self, url: str, allowed_hosts: list[str]) -> None:
        check_url(url, allowed_hosts, self.allow_private)

    def get(self, url: str, *, allowed_hosts: list[str], etag: str | None = None,
            last_modified: str | None = None) -> FetchResult:
        attempt = 0
        while True:
            try:
                result = self._get_once(url, allowed_hosts, etag, last_modified)
                result.attempts = attempt + 1
                return result
            except FetchError as exc:
                if exc.permanent or attempt >= self.retries:
                    raise
                time.sleep(retry_delay(attempt, self.backoff, retry_after=getattr(exc, "retry_after", None)))
                attempt += 1

    def _get_once(self, url: str, allowed_hosts: list[str], etag: str | None,
                  last_modified: str | None) -> FetchResult:
        headers = conditional_headers(etag, last_modified)
        deadline = time.monotonic() + self.total_timeout
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url, allowed_hosts)
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    if resp.status_code in REDIRECT_STATUS and resp.headers.get("location"):
                        url = urljoin(url, resp.headers["location"])
                        continue
                    return self._read(url, resp, deadline)
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out fetching {url} ({type(exc).__name__})", permanent=False,
                                 status="timeout") from None
            except httpx.TransportError as exc:
                raise FetchError(f"could not reach {url}: {exc}", permanent=False, status="unreachable") from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}", permanent=True, status="refused")

    def _read(self, url: str, resp: httpx.Response, deadline: float) -> FetchResult:
        if resp.status_code == 304:
            return FetchResult(url, 304, b"", etag=resp.headers.get("etag"),
                               last_modified=resp.headers.get("last-modified"), not_modified=True)
        if resp.status_code >= 400:
            error = status_error(url, resp.status_code)
            error.retry_after = resp.headers.get("retry-after")
            raise error
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large(url, self.max_bytes, int(declared))
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise too_large(url, self.max_bytes)
            if time.monotonic() > deadline:  # a slow drip never trips the read timeout
                raise FetchError(f"timed out fetching {url} (over {self.total_timeout:.0f} s in all)",
                                 permanent=False, status="timeout")
            chunks.append(chunk)
        content_type, charset = split_content_type(resp.headers.get("content-type", ""))
        return FetchResult(url, resp.status_code, b"".join(chunks), content_type=content_type,
                           charset=charset, etag=resp.headers.get("etag"),
                           last_modified=resp.headers.get("last-modified"))

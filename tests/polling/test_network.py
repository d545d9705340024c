"""The aiohttp fetcher against a real server: redirects, errors, retries, timeouts, slow drips,
conditional GET, per-host limits. (The sync fetcher has the same rules: tests/test_fetch.py.)"""

from __future__ import annotations

import asyncio
import time

import pytest

from documents.afetch import AsyncFetcher, FetchRequest
from documents.errors import FetchError
from documents.fetch import Fetcher
from tests.polling.conftest import Page

HOSTS = ["127.0.0.1"]


def run(coro):
    return asyncio.run(coro)


def fetcher(**kw) -> AsyncFetcher:
    return AsyncFetcher(user_agent="nianbao-test/1 (+ops@example.org)", allow_private=True,
                        **{"timeout": 2, "retries": 0, "host_rate": 0, **kw})


async def get(f: AsyncFetcher, url: str, **kw):
    try:
        return await f.get(url, allowed_hosts=kw.pop("hosts", HOSTS), **kw)
    finally:
        await f.close()


def test_redirects_followed_on_allowed_hosts_refused_elsewhere_with_reason(site):
    site.pages["/old"] = Page(b"", 301, headers={"Location": "/new"})
    site.html("/new", "<p>新</p>")
    site.pages["/away"] = Page(b"", 302, headers={"Location": "http://evil.example.com/x"})
    site.pages["/ftp"] = Page(b"", 302, headers={"Location": "ftp://127.0.0.1/x"})
    assert run(get(fetcher(), site.base + "/old")).url.endswith("/new")
    with pytest.raises(FetchError) as away:
        run(get(fetcher(), site.base + "/away"))
    assert away.value.permanent and away.value.status == "refused" and "evil.example.com" in away.value.reason
    with pytest.raises(FetchError, match="scheme 'ftp'"):
        run(get(fetcher(), site.base + "/ftp"))
    with pytest.raises(FetchError, match="private or loopback"):
        run(get(AsyncFetcher(user_agent="t"), site.base + "/new"))


def test_404_is_permanent_500_is_retried_with_backoff_then_transient(site):
    with pytest.raises(FetchError) as missing:
        run(get(fetcher(retries=3), site.base + "/nothing"))
    assert missing.value.permanent and site.hits("/nothing") == 1  # never retried
    site.pages["/boom"] = Page(b"", 500)
    with pytest.raises(FetchError) as boom:
        run(get(fetcher(retries=2, backoff=0.01), site.base + "/boom"))
    assert not boom.value.permanent and boom.value.status == "http_500" and site.hits("/boom") == 3


def test_a_transient_error_that_clears_is_a_success(site):
    answers = iter([Page(b"", 503, headers={"Retry-After": "0"}), Page("<p>好</p>".encode())])
    site.pages["/flaky"] = lambda: next(answers)
    result = run(get(fetcher(retries=2, backoff=0.01), site.base + "/flaky"))
    assert result.status_code == 200 and result.attempts == 2


def test_read_timeout_and_slow_drip_are_cut_off(site):
    site.pages["/slow"] = Page(b"late", delay=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError) as slow:
        run(get(fetcher(timeout=0.5), site.base + "/slow"))
    assert slow.value.status == "timeout" and not slow.value.permanent and time.monotonic() - started < 1.4
    # One byte every 0.2 s never trips a 0.5 s read timeout; the total cap stops it.
    site.pages["/drip"] = Page(b"x" * 40, drip=0.2)
    started = time.monotonic()
    with pytest.raises(FetchError) as drip:
        run(get(fetcher(timeout=0.5, total_timeout=1.0), site.base + "/drip"))
    assert drip.value.status == "timeout" and time.monotonic() - started < 3
    with pytest.raises(FetchError) as sync_drip:
        Fetcher(user_agent="t", allow_private=True, timeout=0.5, total_timeout=1.0).get(site.base + "/drip",
                                                                                         allowed_hosts=HOSTS)
    assert sync_drip.value.status == "timeout"


def test_size_cap_and_user_agent(site):
    site.pages["/big"] = Page(b"x" * 50_000)
    with pytest.raises(FetchError) as big:
        run(get(fetcher(max_bytes=10_000), site.base + "/big"))
    assert big.value.status == "too_large" and big.value.permanent
    site.html("/ua", "<p>ua</p>")
    run(get(fetcher(), site.base + "/ua"))
    assert site.requests[-1][1]["User-Agent"] == "nianbao-test/1 (+ops@example.org)"


def test_etag_and_last_modified_give_304_without_a_body(site):
    site.pages["/e"] = Page("<p>年报</p>".encode(), etag='"v1"')
    site.pages["/m"] = Page("<p>年报</p>".encode(), last_modified="Wed, 21 Jan 2026 07:28:00 GMT")
    first = run(get(fetcher(), site.base + "/e"))
    assert first.etag == '"v1"' and first.content
    again = run(get(fetcher(), site.base + "/e", etag='"v1"'))
    assert again.not_modified and again.content == b""
    lm = run(get(fetcher(), site.base + "/m")).last_modified
    assert run(get(fetcher(), site.base + "/m", last_modified=lm)).not_modified


def test_per_host_concurrency_and_rate_limits(site):
    for i in range(8):
        site.pages[f"/p{i}"] = Page(b"ok", delay=0.1)
    requests = [FetchRequest(site.base + f"/p{i}", tuple(HOSTS)) for i in range(8)]

    async def all_of(f):
        try:
            return await f.fetch_all(requests)
        finally:
            await f.close()

    results = run(all_of(fetcher(per_host=2, concurrency=50)))
    assert all(r.status_code == 200 for r in results) and site.max_active == 2
    started = time.monotonic()
    run(all_of(fetcher(per_host=8, host_rate=10, host_burst=1)))  # 8 requests at 10 a second: ≥ 0.7 s
    assert time.monotonic() - started >= 0.65

"""Service addresses as they may be shown: in messages, logs and /healthz."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def mask_service_url(url: str) -> str:
    """scheme://…@host:port/path: no user, no password, no query (options may hold secrets)."""
    if url.startswith("sqlite"):
        return url.split("?", 1)[0]  # a file: nothing secret, and its slashes matter
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    scheme = parts.scheme.split("+", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "…@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((scheme, netloc, parts.path, "", ""))

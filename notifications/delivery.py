"""Deliver one rendered notice to its Apprise URLs and say what happened.

The caller records the outcome (the outbox row and its attempts); this module only sends.
A target Apprise cannot even load is a permanent failure (retrying a bad URL never helps);
a failed send is transient (an endpoint that is down may come back). Email targets get the
HTML body, every other channel the plain text.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import apprise

import notifications.outbox  # noqa: F401  (registers the outbox:// scheme)

log = logging.getLogger(__name__)
EMAIL_SCHEMES = ("mailto", "mailtos")


@dataclass
class DeliveryResult:
    ok: bool
    error: str = ""
    permanent: bool = False


# Loading a URL's plugin costs about a millisecond, and every notice names the same few
# targets: what a URL string is (loadable, and how it prints masked) is kept per process.
@lru_cache(maxsize=4096)
def _loadable(url: str) -> bool:
    return apprise.Apprise.instantiate(url) is not None


@lru_cache(maxsize=4096)
def mask_url(url: str) -> str:
    """The URL with its secrets hidden, as Apprise prints it in privacy mode."""
    obj = apprise.Apprise.instantiate(url)
    if obj is None:
        return url.split("://", 1)[0] + "://…"
    return obj.url(privacy=True)


def _notify(urls: list[str], subject: str, body: str, fmt, attach: str | None) -> tuple[bool, str]:
    target = apprise.Apprise()
    for url in urls:
        target.add(url)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = target.notify(body=body, title=subject, body_format=fmt, attach=attach)
    return bool(ok), " ".join(captured.getvalue().split())[:500]


def send(urls: list[str], subject: str, body: str, *, html: str = "",
         attachment: tuple[str, str] | None = None) -> DeliveryResult:
    """Send to every URL; ok only if all of them accepted it. attachment = (file name, text)."""
    if not urls:
        return DeliveryResult(False, "no notice targets configured", permanent=True)
    bad = [mask_url(u) for u in urls if not _loadable(u)]
    if bad:
        return DeliveryResult(False, "not a valid Apprise URL: " + ", ".join(bad), permanent=True)
    email = [u for u in urls if u.split("://", 1)[0].lower() in EMAIL_SCHEMES]
    other = [u for u in urls if u not in email]
    errors = []
    # A folder for the attachment only when there is one (a digest), not for every notice.
    with tempfile.TemporaryDirectory(prefix="nianbao-attach-") if attachment else nullcontext() as tmp:
        attach = None
        if attachment:
            path = Path(tmp) / attachment[0]
            path.write_text(attachment[1], encoding="utf-8-sig")  # BOM: Excel opens Chinese CSV right
            attach = str(path)
        if email:
            ok, err = _notify(email, subject, html or body,
                              apprise.NotifyFormat.HTML if html else apprise.NotifyFormat.TEXT, attach)
            if not ok:
                errors.append(err or "the mail server refused the notice")
        if other:
            ok, err = _notify(other, subject, body, apprise.NotifyFormat.TEXT, attach)
            if not ok:
                errors.append(err or "the notification service refused the notice")
    if not errors:
        return DeliveryResult(True)
    error = " | ".join(errors)
    log.warning("delivery failed to %s: %s", ", ".join(mask_url(u) for u in urls), error)
    return DeliveryResult(False, error, permanent=False)

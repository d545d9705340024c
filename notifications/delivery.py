"""Deliver one rendered notice to its Apprise URLs and say what happened.

The caller records the outcome (the outbox row); this module only sends. A target Apprise
cannot even load is a permanent failure (retrying a bad URL never helps); a failed send is
transient (an endpoint that is down may come back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apprise

import notifications.outbox  # noqa: F401  (registers the outbox:// scheme)

log = logging.getLogger(__name__)


@dataclass
class DeliveryResult:
    ok: bool
    error: str = ""
    permanent: bool = False


def mask_url(url: str) -> str:
    """The URL with its secrets hidden, as Apprise prints it in privacy mode."""
    obj = apprise.Apprise.instantiate(url)
    if obj is None:
        return url.split("://", 1)[0] + "://…"
    return obj.url(privacy=True)


def send(urls: list[str], subject: str, body: str, *, headers: dict[str, str] | None = None) -> DeliveryResult:
    """Send to every URL; ok only if all of them accepted it."""
    if not urls:
        return DeliveryResult(False, "no notice targets configured", permanent=True)
    bad = [mask_url(u) for u in urls if apprise.Apprise.instantiate(u) is None]
    if bad:
        return DeliveryResult(False, "not a valid Apprise URL: " + ", ".join(bad), permanent=True)
    target = apprise.Apprise()
    for url in urls:
        target.add(url)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = target.notify(body=body, title=subject, body_format=apprise.NotifyFormat.TEXT)
    if ok:
        return DeliveryResult(True)
    error = " ".join(captured.getvalue().split())[:500] or "the notification service refused the notice"
    log.warning("delivery failed to %s: %s", ", ".join(mask_url(u) for u in urls), error)
    return DeliveryResult(False, error, permanent=False)

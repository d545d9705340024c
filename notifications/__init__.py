"""Who gets what, in Chinese: rendering notices from templates and delivering them with Apprise.

A plain library: it takes plain data (dicts, strings) and returns plain data; it never
reads the database or the settings.
"""

from notifications.delivery import DeliveryResult, mask_url, send
from notifications.render import render

__all__ = ["render", "send", "mask_url", "DeliveryResult"]

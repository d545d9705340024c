"""Fixtures of the integration tests: a Redis db of the run's own."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import unavailable


@pytest.fixture
def redis_url():
    import redis

    db = 1 + uuid.uuid4().int % 15  # a Redis db of this run's own; the key prefix keeps it apart
    url = f"redis://127.0.0.1:6379/{db}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {url}: {exc}")
    yield url

"""Sign-in throttling: too many wrong passwords for one user, or from one address, lock that
user or address out for a while, and the lockout is logged.

Failures are counted in a sliding window per key ("user:<name>", "addr:<ip>"). Crossing the
limit locks the key until `lock_seconds` have passed; while locked, even the right password
is refused (an attacker learns nothing from timing or answers). A good sign-in clears the
user's count, not the address's (one office NAT serves many clerks, hence its higher limit).

The counts live in this process: with several server processes each keeps its own, so the
effective limit is per process; that still turns thousands of guesses a minute into a handful.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger("nianbao.web.login")


@dataclass
class Throttle:
    user_limit: int = 5  # wrong passwords for one user within the window
    address_limit: int = 20  # wrong passwords from one address within the window
    window_seconds: float = 15 * 60
    lock_seconds: float = 15 * 60
    clock: callable = time.monotonic
    _failures: dict[str, deque] = field(default_factory=dict)
    _locked: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, user: str, address: str) -> float:
        """Seconds until both the user and the address may try again (0: not locked)."""
        now = self.clock()
        with self._lock:
            waits = [until - now for key in (f"user:{user}", f"addr:{address}")
                     if (until := self._locked.get(key)) and until > now]
        return max(waits, default=0.0)

    def failed(self, user: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in ((f"user:{user}", self.user_limit), (f"addr:{address}", self.address_limit)):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] <= now - self.window_seconds:
                    times.popleft()
                if len(times) >= limit and self._locked.get(key, 0) <= now:
                    self._locked[key] = now + self.lock_seconds
                    times.clear()
                    log.warning("sign-in locked for %d s: %s after %d wrong passwords within %d s",
                                self.lock_seconds, key, limit, self.window_seconds)
            if len(self._failures) > 10_000:  # bound the memory an attacker can make us use
                stale = [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window_seconds]
                for k in stale:
                    del self._failures[k]

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{user}", None)

"""What the agencies file names, checked the way it will be used: notice targets by Apprise
itself (the library that sends them), source hosts against allowed_hosts and against the
addresses the fetcher refuses. Every answer is (message, fix, detail) for a file:line problem:
message and fix are Chinese sentences for the admin; detail keeps what Apprise said (English,
for the logs), since it may be all a plugin tells.

A target is checked with every ${NAME} replaced by a placeholder, so the file can be
checked without the secrets (they are read only when a notice is sent); where the
environment has the value, the URL as it will be sent is checked too, and its value is never
printed. This module must not send anything or read the network, but DNS (``resolve``).
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import re
import socket
import threading

PLACEHOLDER = "placeholder"  # letters only: valid as a password, a token, a key or a host label
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LOCAL_NAMES = re.compile(r"(^|\.)(localhost|local|internal|lan|intranet|home\.arpa)$", re.I)


def _apprise_says(url: str) -> str | None:
    """None when Apprise can load ``url``; else what Apprise logged about it."""
    import apprise

    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        loaded = apprise.Apprise.instantiate(url)
    if loaded is not None:
        return None
    said = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    return said[0] if said else "Apprise cannot load it"  # for the logs (a problem's detail)


def target_problem(url: str, env: dict[str, str]) -> tuple[str, str, str] | None:
    """Why Apprise would refuse this notice target at send time, how to write it, and what
    Apprise said; None if fine."""
    from apprise import NotificationManager

    with_placeholders = ENV_REF.sub(PLACEHOLDER, url)
    scheme = with_placeholders.split("://", 1)[0].lower() if "://" in with_placeholders else ""
    if not scheme:
        return (f"通知接收地址“{url}”不是通知服务的网址（应以“服务名://”开头）",
                "写作如 mailtos://user:${SMTP_PASSWORD}@mail.example.gov.cn/?to=gk@example.gov.cn "
                "或 json://主机/路径", "")
    plugins = NotificationManager()
    schemas = plugins.schemas()
    if scheme not in schemas:
        close = difflib.get_close_matches(scheme, schemas, n=3, cutoff=0.6)
        return (f"通知接收地址“{url}”：没有名为 {scheme}:// 的通知服务",
                ("是否应为 " + " 或 ".join(f"{c}://" for c in close) + "？") if close
                else "可用的服务见 https://appriseit.com/services/", "")
    said = _apprise_says(with_placeholders)
    if said is not None:
        plugin = plugins[scheme]
        forms = " 或 ".join(t.replace("{schema}", scheme) for t in getattr(plugin, "templates", ())[:3])
        name = getattr(plugin, "service_name", scheme)
        where = getattr(plugin, "setup_url", "") or "https://appriseit.com/services/"
        return (f"通知接收地址“{url}”缺少内容或写法不对，不能用作“{name}”服务的地址",
                (f"{scheme}:// 是“{name}”服务，应写作 {forms}" if forms else f"{scheme}:// 是“{name}”服务")
                + f"（见 {where} ）", said)
    names = ENV_REF.findall(url)
    if names and all(n in env for n in names):
        sent = ENV_REF.sub(lambda m: env[m.group(1)], url)
        if _apprise_says(sent) is not None:  # what Apprise said could quote the secret: not shown
            return (f"通知接收地址“{url}”填入环境变量 ${{{names[0]}}} 的值后不是有效的网址",
                    "请把该值中网址保留的字符改用百分号编码（@ 写作 %40，/ 写作 %2F，: 写作 %3A）", "")
    return None


def missing_env(url: str, env: dict[str, str]) -> list[str]:
    return [name for name in ENV_REF.findall(url) if name not in env]


def host_is_local(host: str) -> bool:
    """An address or name the fetcher refuses without NIANBAO_ALLOW_PRIVATE_HOSTS (no DNS)."""
    host = host.strip("[]").rstrip(".")
    try:
        return _private(ipaddress.ip_address(host))
    except ValueError:
        return bool(_LOCAL_NAMES.search(host))


def _private(addr) -> bool:
    return addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast


def resolve_private(hosts: list[str], budget: float = 3.0, workers: int = 32) -> dict[str, str]:
    """The hosts among ``hosts`` whose DNS answer is a private or loopback address (host →
    address). Lookups run on a few daemon threads; those not answered within ``budget``
    seconds are skipped: a check must not hang on a slow resolver."""
    import queue
    import time

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for host in dict.fromkeys(hosts):
        todo.put(host)
    found: dict[str, str] = {}
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                host = todo.get_nowait()
            except queue.Empty:
                return
            try:
                infos = socket.getaddrinfo(host, None)
            except (OSError, UnicodeError):
                continue
            private = [a for a in (info[4][0].split("%")[0] for info in infos) if _private(ipaddress.ip_address(a))]
            if private:
                with lock:
                    found[host] = private[0]

    threads = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(hosts)))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + budget
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    with lock:
        return dict(found)

"""Which Host names the server answers to, so a web page cannot reach it by DNS rebinding."""

from __future__ import annotations

import socket

from .app import LOOPBACK_HOSTS


def allowed_hosts(bind: str, extra: list[str]) -> list[str]:
    """The Host names the server answers on every bind, so a web page cannot reach it by
    DNS rebinding: loopback names, and off loopback the bound address, this machine's name
    and whatever ``--allow-host`` adds."""
    hosts = list(LOOPBACK_HOSTS)
    if bind not in ("127.0.0.1", "localhost", "::1"):
        wildcard = bind in ("0.0.0.0", "::", "")
        names = [] if wildcard else [url_host(bind)]
        names += [socket.gethostname(), socket.getfqdn()]
        hosts += [n.lower() for n in names if n]
    hosts += [h.lower() for h in extra]
    return list(dict.fromkeys(hosts))


def url_host(host: str) -> str:
    """HOST as it is written in a URL or a Host header: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host

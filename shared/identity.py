"""Keyed hashing of personal identifiers (IP addresses, device ids).

A plain SHA-256 of an IPv4 address is reversible by trying all 2^32 addresses; an HMAC with
a secret key is not, without the key. Addresses are normalised first so that the same
listener over IPv4 and IPv4-mapped IPv6 (``::ffff:1.2.3.4``) hashes the same.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress


class IdentityHasher:
    """HMAC-SHA-256 with ``IDENTITY_HASH_KEY``; the digest is shortened to 128 bits (hex)."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("identity hash key must be at least 16 bytes")
        # Keyed once; each hash copies the keyed state (cheaper than re-keying per value).
        self._base = hmac.new(key, digestmod=hashlib.sha256)

    def __repr__(self) -> str:
        return "IdentityHasher(<key redacted>)"

    def hash(self, value: str, *, kind: str = "id") -> str:
        """Hash ``value``; ``kind`` separates namespaces (an IP and a device id never collide)."""
        mac = self._base.copy()
        mac.update(f"{kind}\x00{value}".encode("utf-8", "surrogatepass"))
        return mac.hexdigest()[:32]

    def hash_ip(self, address: str) -> str:
        return self.hash(normalise_ip(address), kind="ip")


def normalise_ip(address: str) -> str:
    text = address.strip()
    if ":" not in text and text.count(".") == 3 and text.replace(".", "").isdigit() and "0" != text[:1]:
        return text  # dotted-quad IPv4 as servers write it: already canonical (the common, hot case)
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.compressed

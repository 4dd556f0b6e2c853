"""Throwaway key pairs for the store stand-ins (never real credentials)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyPair:
    private: str  # PKCS#8 PEM, as Apple's .p8 and Google's key files hold it
    public: str  # SubjectPublicKeyInfo PEM, for the stand-in to verify with


def _pair(key) -> KeyPair:
    from cryptography.hazmat.primitives import serialization

    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private=private, public=public)


def apple_key() -> KeyPair:
    """An ES256 (P-256) key like an App Store Connect .p8."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return _pair(ec.generate_private_key(ec.SECP256R1()))


def google_key() -> KeyPair:
    """An RS256 key like a service account's."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return _pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))

"""Encryption at rest for credentials we must be able to use again (upstream API keys), with a server secret.

The secret is `Settings.secret` when set, else a random key in `<data dir>/secret.key` created 0600 on first use.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hackatime_lite.config import Settings

_KDF_INFO = b"hackatime-lite secretbox v1"


class SecretUnavailable(RuntimeError):
    """Stored ciphertext cannot be decrypted (the server secret changed or the value was tampered with)."""


def _derive_key(secret: bytes) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(secret)
    return base64.urlsafe_b64encode(derived)


def _read_or_create_secret_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def server_secret(settings: Settings) -> bytes:
    if settings.secret:
        return settings.secret.encode()
    return _read_or_create_secret_file(settings.paths.secret_file)


class SecretBox:
    def __init__(self, secret: bytes) -> None:
        self._fernet = Fernet(_derive_key(secret))

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretBox:
        return cls(server_secret(settings))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretUnavailable("a stored key cannot be decrypted: the server secret has changed") from exc

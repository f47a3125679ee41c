"""Encryption at rest for linked GW2 API keys: a ``KeyVault`` over Fernet/MultiFernet.

``KEY_ENCRYPTION_KEY`` holds one or more comma-separated Fernet keys. The first encrypts; every key
decrypts, so an operator can put a new key first, re-encrypt every stored row with
``KeyVault.rotate`` and later drop the old key. When the variable is unset, a key is generated once
into ``<data dir>/key_encryption.key`` (owner-only permissions) and reused on every later start.

Nothing here ever puts a plaintext key, a ciphertext or key material into an exception message, a
log line or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.errors import UserFacingError

log = logging.getLogger(__name__)

ENV_VAR = "KEY_ENCRYPTION_KEY"
KEY_FILE_NAME = "key_encryption.key"
# How an operator makes a key without this project installed (also the documented CLI's output).
GENERATE_HINT = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

KeySource = Literal["env", "file", "generated"]


class KeyVaultError(UserFacingError):
    """The vault cannot do what was asked. The text names the setting, never a secret."""


class KeyMaterialError(KeyVaultError):
    """``KEY_ENCRYPTION_KEY`` (or the key file) does not hold valid Fernet keys."""


class KeyDecryptError(KeyVaultError):
    """A stored value was not encrypted with any configured key, or it is damaged."""


def generate_key() -> str:
    """A fresh Fernet key (44 url-safe base64 characters) for ``KEY_ENCRYPTION_KEY``."""
    return Fernet.generate_key().decode("ascii")


@dataclass(frozen=True)
class LoadedVault:
    """What ``KeyVault.from_config`` found: the vault and where its key material came from.

    When ``generated`` is true the caller should log a warning naming ``key_file`` (back it up;
    losing it makes every stored key unreadable).
    """

    vault: KeyVault
    source: KeySource
    key_file: Path | None = field(default=None)

    @property
    def generated(self) -> bool:
        return self.source == "generated"


class KeyVault:
    """Encrypts and decrypts API keys. The first key encrypts; all keys decrypt."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise KeyMaterialError(f"{ENV_VAR} holds no key. Generate one with: {GENERATE_HINT}")
        fernets: list[Fernet] = []
        raw_keys: list[bytes] = []
        for index, key in enumerate(keys, start=1):
            key_bytes = key.encode("ascii", "replace") if isinstance(key, str) else key
            try:
                fernets.append(Fernet(key_bytes))
            except (ValueError, TypeError, binascii.Error):
                raise KeyMaterialError(_malformed_message(index, len(keys))) from None
            raw_keys.append(base64.urlsafe_b64decode(key_bytes))
        self._current = fernets[0]
        self._multi = MultiFernet(fernets)
        self._fingerprints = tuple(_fingerprint(raw) for raw in raw_keys)

    @classmethod
    def from_config(cls, key_material: str | None, data_dir: Path) -> LoadedVault:
        """The vault for ``KEY_ENCRYPTION_KEY`` (may be ``None``/blank) and the data directory.

        Unset: load ``data_dir/key_encryption.key``, or create it (mode 0o600, atomically, never
        overwriting an existing file). Raises ``KeyMaterialError`` for malformed material.
        """
        if key_material is not None and key_material.strip():
            return LoadedVault(cls(_split_keys(key_material)), "env")
        key_file = data_dir / KEY_FILE_NAME
        try:
            generated = _create_key_file(key_file)
            keys = _read_key_file(key_file)
        except OSError as error:
            raise KeyMaterialError(
                f"{ENV_VAR} is unset and the key file {key_file} cannot be used "
                f"({error.strerror or type(error).__name__}). Fix the data directory's "
                f"permissions or set {ENV_VAR}."
            ) from None
        try:
            vault = cls(keys)
        except KeyMaterialError:
            raise KeyMaterialError(
                f"The key file {key_file} does not hold a valid {ENV_VAR} (Fernet keys, "
                "comma-separated). Restore it from a backup, or set the variable."
            ) from None
        return LoadedVault(vault, "generated" if generated else "file", key_file)

    # -- encryption ------------------------------------------------------------------------------

    def encrypt(self, plaintext: str) -> bytes:
        """``plaintext`` encrypted with the current key (a Fernet token, url-safe ASCII bytes)."""
        return self._multi.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """The plaintext of ``token``; ``KeyDecryptError`` when no configured key opens it."""
        try:
            return self._multi.decrypt(token).decode("utf-8")
        except (InvalidToken, TypeError, UnicodeDecodeError):
            raise KeyDecryptError(_DECRYPT_FAILED) from None

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted with the current key (decrypted with whichever key opens it)."""
        try:
            return self._multi.rotate(token)
        except (InvalidToken, TypeError):
            raise KeyDecryptError(_DECRYPT_FAILED) from None

    def can_decrypt(self, token: bytes) -> bool:
        """Whether any configured key opens ``token``."""
        try:
            self._multi.decrypt(token)
        except (InvalidToken, TypeError):
            return False
        return True

    def is_current(self, token: bytes) -> bool:
        """Whether ``token`` is already encrypted with the current key (rotation can skip it)."""
        try:
            self._current.decrypt(token)
        except (InvalidToken, TypeError):
            return False
        return True

    def check_can_decrypt(self, tokens: Iterable[bytes]) -> None:
        """Start-up guard: raise ``KeyDecryptError`` unless every stored token can be decrypted.

        Use it on existing rows (or a sample) before serving, so a missing or wrong key stops the
        process instead of silently losing the stored keys.
        """
        unreadable = sum(1 for token in tokens if not self.can_decrypt(token))
        if unreadable:
            raise KeyDecryptError(
                f"{unreadable} stored API key(s) cannot be decrypted with {ENV_VAR} "
                f"(current key fingerprint {self.fingerprint}). Set {ENV_VAR} to the key they "
                "were encrypted with (list old keys after the new one, comma-separated) or restore "
                f"the {KEY_FILE_NAME} file. Refusing to start rather than lose data."
            )

    # -- diagnostics -----------------------------------------------------------------------------

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible identifier of the current key, safe to log."""
        return self._fingerprints[0]

    @property
    def key_count(self) -> int:
        return len(self._fingerprints)

    def __repr__(self) -> str:
        return f"KeyVault(keys={self.key_count}, fingerprint={self.fingerprint})"


# ---------------------------------------------------------------------------------------------
# helpers

_DECRYPT_FAILED = (
    f"A stored API key could not be decrypted: it was encrypted with a key that is not in "
    f"{ENV_VAR}, or the stored value is damaged."
)
_SEPARATORS = re.compile(r"[,\s]+")


def _malformed_message(index: int, count: int) -> str:
    where = f"entry {index} of {count}" if count > 1 else "its value"
    return (
        f"{ENV_VAR} is not valid: {where} is not a Fernet key (32 bytes, url-safe base64, "
        f"44 characters). Generate one with: {GENERATE_HINT}"
    )


def _split_keys(material: str) -> list[str]:
    """Keys from comma- (or newline-) separated text, blanks and duplicates dropped, order kept."""
    keys = [part for part in _SEPARATORS.split(material.strip()) if part]
    return list(dict.fromkeys(keys))


def _fingerprint(raw_key: bytes) -> str:
    return hashlib.sha256(b"gw2opt-key-fingerprint\x00" + raw_key).hexdigest()[:12]


def _read_key_file(key_file: Path) -> list[str]:
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "Key file %s was readable by others (mode %o); restricting it to its owner",
            key_file,
            mode,
        )
        key_file.chmod(0o600)
    keys = _split_keys(key_file.read_text(encoding="ascii", errors="replace"))
    if not keys:
        raise KeyMaterialError(
            f"The key file {key_file} is empty. Restore it from a backup, or set {ENV_VAR}."
        )
    return keys


def _create_key_file(key_file: Path) -> bool:
    """Create ``key_file`` with a new key unless it exists. True when this call created it.

    The key is written to a private temporary file first and then hard-linked into place, so no
    reader ever sees a half-written file and an existing file is never replaced.
    """
    if key_file.exists():
        return False
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = key_file.with_name(f".{key_file.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # in case the umask or filesystem widened it
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            return False  # another process won the race; use its key
        except OSError:
            # No hard links on this filesystem: exclusive create still never overwrites.
            return _create_key_file_directly(key_file, tmp.read_text(encoding="ascii"))
        _fsync_dir(key_file.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _create_key_file_directly(key_file: Path, content: str) -> bool:
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(key_file, 0o600)
    return True


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)

"""KeyVault: encryption at rest, rotation, the generated key file and safe error messages."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from services.errors import UserFacingError
from services.keys.vault import (
    ENV_VAR,
    KEY_FILE_NAME,
    KeyDecryptError,
    KeyMaterialError,
    KeyVault,
    KeyVaultError,
    generate_key,
)


def make_api_key() -> str:
    """A key-shaped test value built at runtime (8-4-4-4-20-4-4-4-12 hex)."""
    h = (uuid.uuid4().hex + uuid.uuid4().hex).upper()
    sizes = (8, 4, 4, 4, 20, 4, 4, 4, 12)
    parts, pos = [], 0
    for size in sizes:
        parts.append(h[pos : pos + size])
        pos += size
    return "-".join(parts)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_encrypt_then_decrypt_returns_the_plaintext() -> None:
    vault = KeyVault([generate_key()])
    api_key = make_api_key()
    assert vault.decrypt(vault.encrypt(api_key)) == api_key


def test_encrypted_bytes_do_not_contain_the_plaintext() -> None:
    vault = KeyVault([generate_key()])
    api_key = make_api_key()
    token = vault.encrypt(api_key)
    assert api_key.encode() not in token
    assert api_key.lower().encode() not in token
    for group in api_key.split("-"):
        if len(group) >= 12:
            assert group.encode() not in token


def test_two_encryptions_of_the_same_key_differ() -> None:
    vault = KeyVault([generate_key()])
    api_key = make_api_key()
    assert vault.encrypt(api_key) != vault.encrypt(api_key)


def test_rotation_moves_rows_to_the_new_key_and_survives_removing_the_old_one() -> None:
    old, new = generate_key(), generate_key()
    api_key = make_api_key()
    stored = KeyVault([old]).encrypt(api_key)

    during = KeyVault([new, old])
    assert during.can_decrypt(stored)
    assert not during.is_current(stored)
    rotated = during.rotate(stored)
    assert during.is_current(rotated)

    after = KeyVault([new])
    assert after.decrypt(rotated) == api_key
    assert not after.can_decrypt(stored)
    with pytest.raises(KeyDecryptError):
        after.decrypt(stored)


def test_rotating_a_token_no_key_opens_raises_a_clear_error() -> None:
    token = KeyVault([generate_key()]).encrypt(make_api_key())
    with pytest.raises(KeyDecryptError, match=ENV_VAR):
        KeyVault([generate_key()]).rotate(token)


def test_wrong_key_error_is_user_facing_and_leaks_nothing() -> None:
    api_key = make_api_key()
    token = KeyVault([generate_key()]).encrypt(api_key)
    with pytest.raises(KeyVaultError) as caught:
        KeyVault([generate_key()]).decrypt(token)
    error = caught.value
    assert isinstance(error, UserFacingError)
    message = str(error)
    assert ENV_VAR in message
    assert api_key not in message
    assert token.decode() not in message
    # The cryptography exception is not chained, so tracebacks carry nothing extra.
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_damaged_token_raises_decrypt_error() -> None:
    vault = KeyVault([generate_key()])
    with pytest.raises(KeyDecryptError):
        vault.decrypt(b"not a fernet token")
    assert not vault.can_decrypt(b"not a fernet token")


def test_check_can_decrypt_stops_start_up_with_a_clear_message() -> None:
    api_key = make_api_key()
    old = KeyVault([generate_key()])
    rows = [old.encrypt(api_key), old.encrypt(make_api_key())]
    old.check_can_decrypt(rows)  # the right key passes

    stranger = KeyVault([generate_key()])
    with pytest.raises(KeyDecryptError) as caught:
        stranger.check_can_decrypt(rows)
    message = str(caught.value)
    assert "2 stored API key(s)" in message
    assert ENV_VAR in message
    assert stranger.fingerprint in message
    assert api_key not in message


def test_from_config_uses_every_comma_separated_key(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    stored = KeyVault([old]).encrypt("secret")
    loaded = KeyVault.from_config(f" {new} , {old},", tmp_path)
    assert loaded.source == "env"
    assert not loaded.generated
    assert loaded.key_file is None
    assert loaded.vault.key_count == 2
    assert loaded.vault.fingerprint == KeyVault([new]).fingerprint
    assert loaded.vault.decrypt(stored) == "secret"
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_malformed_key_material_names_the_variable_without_echoing_it(tmp_path: Path) -> None:
    bogus = uuid.uuid4().hex + uuid.uuid4().hex[:12]
    with pytest.raises(KeyMaterialError) as caught:
        KeyVault.from_config(bogus, tmp_path)
    message = str(caught.value)
    assert ENV_VAR in message
    assert bogus not in message
    assert caught.value.__cause__ is None


def test_malformed_second_key_is_pointed_at_by_position(tmp_path: Path) -> None:
    bogus = "x" * 44
    with pytest.raises(KeyMaterialError, match="entry 2 of 2") as caught:
        KeyVault.from_config(f"{generate_key()},{bogus}", tmp_path)
    assert bogus not in str(caught.value)


def test_unset_key_generates_an_owner_only_file_and_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    first = KeyVault.from_config(None, data_dir)
    key_file = data_dir / KEY_FILE_NAME
    assert first.generated
    assert first.source == "generated"
    assert first.key_file == key_file
    assert mode_of(key_file) == 0o600
    content = key_file.read_bytes()
    token = first.vault.encrypt("kept across restarts")

    second = KeyVault.from_config(None, data_dir)
    assert not second.generated
    assert second.source == "file"
    assert second.vault.fingerprint == first.vault.fingerprint
    assert second.vault.decrypt(token) == "kept across restarts"
    assert key_file.read_bytes() == content
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temp files left


def test_generated_file_is_owner_only_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        loaded = KeyVault.from_config(None, tmp_path)
    finally:
        os.umask(previous)
    assert loaded.key_file is not None
    assert mode_of(loaded.key_file) == 0o600


def test_blank_variable_counts_as_unset(tmp_path: Path) -> None:
    loaded = KeyVault.from_config("   ", tmp_path)
    assert loaded.generated


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    key = generate_key()
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    loaded = KeyVault.from_config(None, tmp_path)
    assert loaded.source == "file"
    assert loaded.vault.fingerprint == KeyVault([key]).fingerprint
    assert key_file.read_text() == key + "\n"


def test_key_file_readable_by_others_is_restricted(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text(generate_key())
    key_file.chmod(0o644)
    KeyVault.from_config(None, tmp_path)
    assert mode_of(key_file) == 0o600


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text("garbage-that-is-not-a-key")
    key_file.chmod(0o600)
    with pytest.raises(KeyMaterialError) as caught:
        KeyVault.from_config(None, tmp_path)
    message = str(caught.value)
    assert str(key_file) in message
    assert "garbage" not in message


def test_empty_key_file_is_a_clear_error(tmp_path: Path) -> None:
    key_file = tmp_path / KEY_FILE_NAME
    key_file.write_text("")
    key_file.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="empty"):
        KeyVault.from_config(None, tmp_path)


def test_unusable_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(KeyMaterialError, match=ENV_VAR):
        KeyVault.from_config(None, not_a_dir)


def test_repr_and_fingerprint_reveal_no_key_material() -> None:
    key = generate_key()
    vault = KeyVault([key])
    assert key not in repr(vault)
    assert key not in vault.fingerprint
    assert len(vault.fingerprint) == 12
    assert vault.fingerprint == KeyVault([key]).fingerprint
    assert vault.fingerprint != KeyVault([generate_key()]).fingerprint


def test_empty_key_list_is_rejected() -> None:
    with pytest.raises(KeyMaterialError, match=ENV_VAR):
        KeyVault([])


def test_generate_key_makes_a_fernet_key() -> None:
    key = generate_key()
    assert len(key) == 44
    Fernet(key)  # does not raise


_PROPERTY_VAULT = KeyVault([generate_key()])


@given(st.text())
def test_any_text_round_trips(plaintext: str) -> None:
    assert _PROPERTY_VAULT.decrypt(_PROPERTY_VAULT.encrypt(plaintext)) == plaintext


def test_key_file_is_created_without_hard_link_support(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: object, dst: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    first = KeyVault.from_config(None, tmp_path)
    assert first.generated
    assert first.key_file is not None
    assert mode_of(first.key_file) == 0o600
    second = KeyVault.from_config(None, tmp_path)
    assert second.vault.fingerprint == first.vault.fingerprint
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]

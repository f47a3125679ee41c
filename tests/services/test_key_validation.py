"""Key format, ownership codes and the permission/ownership checklist."""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.keys.validation import (
    OPTIONAL_PERMISSIONS,
    OWNERSHIP_ALPHABET,
    PERMISSION_REASONS,
    REQUIRED_PERMISSIONS,
    OwnershipPolicy,
    check_ownership,
    classify_key,
    evaluate_key,
    ownership_code,
    parse_key,
)

GROUPS = (8, 4, 4, 4, 20, 4, 4, 4, 12)


def make_api_key(hex_digits: str | None = None) -> str:
    """A key-shaped test value built at runtime from 64 hex digits."""
    h = (hex_digits or uuid.uuid4().hex + uuid.uuid4().hex).upper()
    parts, pos = [], 0
    for size in GROUPS:
        parts.append(h[pos : pos + size])
        pos += size
    return "-".join(parts)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_subtoken(header: object = None, claims: object = None) -> str:
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    claims = (
        claims
        if claims is not None
        else {
            "arenanet": {"permissions": list(REQUIRED_PERMISSIONS)},
            "sub": uuid.uuid4().hex,
            "iat": 1_700_000_000,
            "exp": 1_800_000_000,
        }
    )
    return ".".join(
        (
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(claims).encode()),
            b64url(secrets.token_bytes(32)),
        )
    )


ALL_PERMISSIONS = (
    "account",
    "builds",
    "characters",
    "guilds",
    "inventories",
    "progression",
    "pvp",
    "tradingpost",
    "unlocks",
    "wallet",
    "wvw",
)

# -- format ------------------------------------------------------------------------------------


def test_real_shaped_api_key_is_an_api_key() -> None:
    key = make_api_key()
    assert classify_key(key) == "api_key"
    parsed = parse_key(key)
    assert parsed is not None
    assert parsed.value == key


@pytest.mark.parametrize(
    "wrap",
    [
        "  {}  ",
        "`{}`",
        "```\n{}\n```",
        "```text\n{}```",
        '"{}"',
        "'{}'",
        "“{}”",
        "||{}||",
        "<{}>",
        "\u200b{}\n",
    ],
)
def test_paste_decorations_are_stripped(wrap: str) -> None:
    key = make_api_key()
    parsed = parse_key(wrap.format(key))
    assert parsed is not None
    assert parsed.kind == "api_key"
    assert parsed.value == key


def test_lowercase_key_is_accepted_and_uppercased() -> None:
    key = make_api_key()
    parsed = parse_key(key.lower())
    assert parsed is not None
    assert parsed.value == key


def test_subtoken_jwt_is_a_subtoken() -> None:
    token = make_subtoken()
    assert classify_key(token) == "subtoken"
    assert classify_key(f"`{token}`") == "subtoken"


def _near_misses() -> list[str]:
    key = make_api_key()
    token = make_subtoken()
    head, claims, sig = token.split(".")
    return [
        "",
        "   ",
        key[:-1],  # 71 characters
        key + "A",  # 73 characters
        key[:8] + key[9:13] + "-" + key[13:],  # a dash moved
        key.replace("-", ""),
        key[:5] + "G" + key[6:],  # not hex
        key[:20] + " " + key[21:],
        f"my key is {key}",
        f"{key} {make_api_key()}",
        str(uuid.uuid4()).upper(),
        key + "-" + key,
        f"{head}.{claims}",  # two segments
        f"{head}.{claims}.{sig}.{sig}",
        f"{head}.{claims}.",  # empty signature
        make_subtoken(header=["not", "an", "object"]),
        "eyJ" + "A" * 20 + ".eyJ" + "B" * 20 + "." + "C" * 20,  # not JSON
        f"{head}.{claims}.{sig}" + "x" * 5000,  # absurdly long
    ]


@pytest.mark.parametrize("text", _near_misses())
def test_near_misses_are_rejected(text: str) -> None:
    assert classify_key(text) is None
    assert parse_key(text) is None


def test_parsed_key_repr_is_masked() -> None:
    key = make_api_key()
    parsed = parse_key(key)
    assert parsed is not None
    assert key not in repr(parsed)
    assert key[:8] in repr(parsed)
    assert parsed.masked == f"{key[:8]}…"


hex64 = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)


@given(hex64)
def test_every_well_formed_key_is_accepted(digits: str) -> None:
    assert classify_key(make_api_key(digits)) == "api_key"


@given(hex64, st.data())
def test_a_single_broken_character_is_rejected(digits: str, data: st.DataObject) -> None:
    key = make_api_key(digits)
    hex_positions = [i for i, ch in enumerate(key) if ch != "-"]
    index = data.draw(st.sampled_from(hex_positions))
    bad = data.draw(st.sampled_from("GHZXghzx_.+-"))
    assert classify_key(key[:index] + bad + key[index + 1 :]) is None


@given(hex64, st.data())
def test_a_missing_character_is_rejected(digits: str, data: st.DataObject) -> None:
    key = make_api_key(digits)
    index = data.draw(st.integers(min_value=0, max_value=len(key) - 1))
    assert classify_key(key[:index] + key[index + 1 :]) is None


# -- ownership codes ---------------------------------------------------------------------------


def test_ownership_code_shape() -> None:
    code = ownership_code()
    assert re.fullmatch(rf"GW2OPT-[{OWNERSHIP_ALPHABET}]{{4}}", code)


def test_ownership_alphabet_has_no_look_alikes() -> None:
    assert not set("01OILUV") & set(OWNERSHIP_ALPHABET)


def test_ownership_codes_vary() -> None:
    assert len({ownership_code() for _ in range(200)}) > 150


@pytest.mark.parametrize(
    "name",
    ["GW2OPT-7KQ4", "bot key GW2OPT-7KQ4", "gw2opt-7kq4", "GW2OPT 7KQ4 wvw", "[GW2OPT_7KQ4]"],
)
def test_code_in_the_name_is_verified(name: str) -> None:
    assert check_ownership(name, "GW2OPT-7KQ4") == "verified"


@pytest.mark.parametrize("name", ["GW2OPT-9ABC", "old GW2OPT-7KQ5"])
def test_another_code_in_the_name_is_a_mismatch(name: str) -> None:
    assert check_ownership(name, "GW2OPT-7KQ4") == "mismatch"


@pytest.mark.parametrize("name", ["", "my wvw key", "GW2OPT", None])
def test_no_code_in_the_name_is_absent(name: str | None) -> None:
    assert check_ownership(name, "GW2OPT-7KQ4") == "absent"


def test_no_expected_code_never_verifies() -> None:
    assert check_ownership("GW2OPT-7KQ4", None) == "mismatch"
    assert check_ownership("anything", None) == "absent"


# -- checklist ---------------------------------------------------------------------------------

FULL = (*REQUIRED_PERMISSIONS, *OPTIONAL_PERMISSIONS)


def test_key_with_every_permission_can_be_stored() -> None:
    checklist = evaluate_key(FULL, "my key", "GW2OPT-7KQ4", "optional")
    assert checklist.can_store
    assert checklist.format_ok
    assert checklist.missing_required == ()
    assert checklist.missing_optional == ()
    assert checklist.how_to_fix is None
    assert checklist.optional_hint is None
    assert all(check.present for check in checklist.permissions)
    assert [c.name for c in checklist.permissions] == list(FULL)
    assert all(c.reason == PERMISSION_REASONS[c.name] for c in checklist.permissions)


@pytest.mark.parametrize("missing", REQUIRED_PERMISSIONS)
def test_each_missing_required_permission_blocks_storing(missing: str) -> None:
    granted = [p for p in FULL if p != missing]
    checklist = evaluate_key(granted, "my key", None, "optional")
    assert not checklist.can_store
    assert checklist.missing_required == (missing,)
    line = next(c for c in checklist.permissions if c.name == missing)
    assert line.required
    assert not line.present
    assert checklist.how_to_fix is not None
    assert f"`{missing}`" in checklist.how_to_fix
    assert PERMISSION_REASONS[missing] in checklist.how_to_fix
    assert "account.arena.net/applications" in checklist.how_to_fix
    assert "/key add" in checklist.how_to_fix


def test_several_missing_permissions_are_all_named_in_order() -> None:
    checklist = evaluate_key(["account"], None, None)
    assert checklist.missing_required == ("wvw", "characters", "builds")
    assert checklist.how_to_fix is not None
    assert checklist.how_to_fix.startswith("This key is missing `wvw`, `characters`, `builds`")


def test_missing_progression_is_only_a_hint() -> None:
    checklist = evaluate_key(REQUIRED_PERMISSIONS, None, None)
    assert checklist.can_store
    assert checklist.missing_optional == ("progression",)
    assert checklist.how_to_fix is None
    assert checklist.optional_hint is not None
    assert "progression" in checklist.optional_hint


def test_permissions_are_matched_case_insensitively_and_extras_ignored() -> None:
    checklist = evaluate_key([p.upper() for p in ALL_PERMISSIONS], None, None)
    assert checklist.can_store
    assert {c.name for c in checklist.permissions} == set(FULL)


@pytest.mark.parametrize(
    ("name", "policy", "ownership", "can_store"),
    [
        ("GW2OPT-7KQ4", "required", "verified", True),
        ("GW2OPT-7KQ4", "optional", "verified", True),
        ("my key", "required", "absent", False),
        ("my key", "optional", "absent", True),
        ("GW2OPT-ABCD", "required", "mismatch", False),
        ("GW2OPT-ABCD", "optional", "mismatch", True),
    ],
)
def test_ownership_cases(
    name: str, policy: OwnershipPolicy, ownership: str, can_store: bool
) -> None:
    checklist = evaluate_key(FULL, name, "GW2OPT-7KQ4", policy)
    assert checklist.ownership == ownership
    assert checklist.ownership_verified == (ownership == "verified")
    assert checklist.can_store == can_store
    assert checklist.ownership_blocks == (not can_store)
    if can_store:
        assert checklist.how_to_fix is None
    else:
        assert checklist.how_to_fix is not None
        assert "GW2OPT-7KQ4" in checklist.how_to_fix


def test_mismatch_explains_that_codes_are_single_use() -> None:
    checklist = evaluate_key(FULL, "GW2OPT-ABCD", "GW2OPT-7KQ4", "required")
    assert checklist.how_to_fix is not None
    assert "different code" in checklist.how_to_fix


def test_subtoken_fix_text_talks_about_subtokens() -> None:
    checklist = evaluate_key(["account"], None, None, key_kind="subtoken")
    assert checklist.key_kind == "subtoken"
    assert checklist.how_to_fix is not None
    assert "new subtoken" in checklist.how_to_fix


def test_key_name_is_never_echoed() -> None:
    name = "@everyone **click** https://example.invalid"
    checklist = evaluate_key(["account"], name, "GW2OPT-7KQ4", "required")
    assert checklist.how_to_fix is not None
    assert "@everyone" not in checklist.how_to_fix
    assert "example.invalid" not in checklist.how_to_fix
    assert name not in repr(checklist)


@given(
    st.sets(st.sampled_from(ALL_PERMISSIONS)),
    st.sampled_from(["GW2OPT-7KQ4", "GW2OPT-ABCD", "plain", ""]),
    st.sampled_from(get_args(OwnershipPolicy)),
)
def test_can_store_exactly_when_required_permissions_and_ownership_hold(
    granted: set[str], name: str, policy: OwnershipPolicy
) -> None:
    checklist = evaluate_key(granted, name, "GW2OPT-7KQ4", policy)
    has_required = set(REQUIRED_PERMISSIONS) <= granted
    owned = name == "GW2OPT-7KQ4"
    assert checklist.can_store == (has_required and (policy == "optional" or owned))
    assert set(checklist.missing_required) == set(REQUIRED_PERMISSIONS) - granted
    assert (checklist.how_to_fix is None) == checklist.can_store

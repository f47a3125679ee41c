from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.errors import explain, permission_names
from services.errors import UserFacingError


class _Command:
    """Just enough of an app command for CommandInvokeError."""

    qualified_name = "wvw match"
    name = "match"


def _invoke_error(original: Exception) -> app_commands.CommandInvokeError:
    command: Any = _Command()
    return app_commands.CommandInvokeError(command, original)


def test_domain_errors_are_shown_as_written() -> None:
    answer = explain(_invoke_error(UserFacingError("No team called “Mogoolo”.")))
    assert answer.expected
    assert answer.message == "No team called “Mogoolo”."
    assert answer.reference is None


def test_missing_permissions_are_named_in_discord_words() -> None:
    answer = explain(app_commands.MissingPermissions(["manage_guild"]))
    assert answer.expected
    assert "Manage Server" in answer.message


def test_bot_missing_permissions_say_what_to_grant() -> None:
    answer = explain(app_commands.BotMissingPermissions(["embed_links", "send_messages"]))
    assert "Embed Links, Send Messages" in answer.message


def test_no_private_message() -> None:
    assert "only works in a server" in explain(app_commands.NoPrivateMessage()).message


def test_unknown_errors_get_an_apology_with_a_reference_and_no_details() -> None:
    answer = explain(_invoke_error(KeyError("internal detail /secret/path")))
    assert not answer.expected
    assert answer.reference is not None
    assert answer.reference in answer.message
    assert "secret" not in answer.message


def test_references_differ_between_errors() -> None:
    first = explain(_invoke_error(RuntimeError()))
    second = explain(_invoke_error(RuntimeError()))
    assert first.reference != second.reference


def test_permission_names_fall_back_to_title_case() -> None:
    assert permission_names(["attach_files"]) == "Attach Files"


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "expired"


def test_an_expired_interaction_is_expected_not_a_defect() -> None:
    unknown = discord.NotFound(_Response(404), {"code": 10062, "message": "Unknown interaction"})  # type: ignore[arg-type]
    invalid = discord.HTTPException(_Response(401), {"code": 50027, "message": "Invalid Webhook"})  # type: ignore[arg-type]
    other = discord.NotFound(_Response(404), {"code": 10003, "message": "Unknown Channel"})  # type: ignore[arg-type]
    assert explain(_invoke_error(unknown)).expected
    assert explain(_invoke_error(invalid)).expected
    assert explain(_invoke_error(invalid)).reference is None
    assert not explain(_invoke_error(other)).expected


def test_a_lost_database_is_temporarily_unavailable() -> None:
    from bot.storage import DatabaseUnavailableError

    answer = explain(_invoke_error(DatabaseUnavailableError("PostgreSQL is not answering")))
    assert answer.message.startswith("The bot's database is temporarily unavailable")
    assert answer.reference is not None

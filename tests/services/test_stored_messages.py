"""Messages stored without a language (services.stored_messages)."""

from __future__ import annotations

import json

import pytest

from services.i18n import Message
from services.stored_messages import dump_message, render_message, render_stored

MISSING = "I'm missing {permissions} there — give my role that permission in the channel settings."


def test_a_stored_message_holds_ids_and_parameters_not_text() -> None:
    stored = dump_message(Message(MISSING, permissions=[Message("Send Messages"), "Use Magic"]))
    assert json.loads(stored) == {
        "id": MISSING,
        "params": {"permissions": [{"id": "Send Messages"}, "Use Magic"]},
    }


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "I'm missing Send Messages, View Channel there"),
        ("fr", "Autorisations manquantes dans ce salon : Envoyer des messages, Voir le salon"),
        ("de", "Mir fehlen dort Berechtigungen: Nachrichten senden, Kanal ansehen"),
        ("es", "Me faltan permisos en ese canal: Enviar mensajes, Ver canal"),
    ],
)
def test_a_stored_message_is_shown_in_the_readers_language(locale: str, expected: str) -> None:
    message = Message(MISSING, permissions=[Message("Send Messages"), Message("View Channel")])
    stored = dump_message(message)
    assert render_stored(stored, locale).startswith(expected)
    assert render_message(message, locale) == render_stored(stored, locale)


def test_nested_messages_and_numbers_survive_the_round_trip() -> None:
    message = Message(
        "I stopped posting WvW alerts in {channel} on **{server}**: {reason} "
        "Fix it, then run `/alerts set` there again to restart them.",
        channel=Message("a channel that no longer exists"),
        server=Message("your server"),
        reason=Message("the channel was deleted."),
    )
    shown = render_stored(dump_message(message), "fr")
    assert shown.startswith(
        "J'ai arrêté de publier les alertes McM dans un salon qui n'existe plus sur "
        "**votre serveur** : le salon a été supprimé."
    )
    assert render_stored(dump_message(Message("answering ({count} models)", count=3)), "de") == (
        "antwortet (3 Modelle)"
    )


@pytest.mark.parametrize(
    "old",
    [
        "the channel was deleted.",
        "I'm missing Send Messages there — give my role that permission in the channel settings.",
        "{not json",
        '{"text": "valid JSON, but not a stored message"}',
    ],
)
def test_text_stored_by_an_older_version_is_shown_as_it_is(old: str) -> None:
    assert render_stored(old, "fr") == old


def test_a_parameter_that_cannot_be_stored_is_refused() -> None:
    with pytest.raises(TypeError):
        dump_message(Message("the channel was deleted.", when=object()))


def test_plural_and_list_messages_are_refused_rather_than_stored_wrong() -> None:
    from services.i18n import ListOf, PluralMessage

    with pytest.raises(TypeError):
        dump_message(PluralMessage("{count} rule", "{count} rules", 2))
    with pytest.raises(TypeError):
        dump_message(Message("{teams}", teams=ListOf(["A", "B"], style="or")))

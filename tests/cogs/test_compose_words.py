"""Small words of /compose: capped roster notes and the "cannot post here" answer."""

from __future__ import annotations

from cogs.compose_words import MAX_NOTES, cannot_post, cap_notes
from services.i18n import Message

SLOW = "{name}: the GW2 API was too slow, flexible slot."


def notes(count: int) -> list[Message]:
    return [Message(SLOW, name=f"P{i}") for i in range(count)]


def test_a_few_notes_are_kept_as_they_are() -> None:
    kept = cap_notes(notes(MAX_NOTES))
    assert [str(n) for n in kept] == [str(n) for n in notes(MAX_NOTES)]


def test_too_many_notes_end_with_a_counted_line_in_the_readers_language() -> None:
    capped = cap_notes(notes(MAX_NOTES + 2))
    assert len(capped) == MAX_NOTES
    assert str(capped[-2]) == "P4: the GW2 API was too slow, flexible slot."
    assert capped[-1].render("en") == "… and 3 more notes"
    assert capped[-1].render("fr") == "… et 3 autres notes"
    assert capped[-1].render("de") == "… und 3 weitere Notizen"
    assert capped[-1].render("es") == "… y 3 notas más"


def test_cannot_post_names_the_permissions_in_the_readers_language() -> None:
    text = cannot_post(["send_messages", "embed_links"], "es")
    assert text.startswith("No puedo publicar en este canal: necesito aquí el permiso ")
    assert "Send Messages" not in text
    assert cannot_post(["send_messages"], "en").startswith(
        "I can't post in this channel: I need the Send Messages permission here."
    )

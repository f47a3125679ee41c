"""Which language the AI wrote in: a small stop-word check, enough to catch a wrong language.

The briefing is asked for in the answer's language (``services.i18n`` codes ``en``, ``fr``,
``de``, ``es``); an answer in another language is treated like any other bad answer (the
optimizer's plan is shown with the "AI unavailable" note).
"""

from __future__ import annotations

import re
from typing import Final

# Language names as the prompt (in English) names them.
PROMPT_LANGUAGE_NAMES: Final = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish (Spain)",
}

# Frequent short words that are distinctive for each language (none shared between two lists).
_MARKERS: Final = {
    "en": frozenset(
        [
            "the",
            "and",
            "of",
            "is",
            "your",
            "with",
            "for",
            "you",
            "are",
            "this",
            "that",
            "to",
            "on",
            "be",
            "it",
            "will",
            "while",
            "should",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "les",
            "et",
            "des",
            "du",
            "est",
            "pour",
            "vos",
            "votre",
            "sur",
            "avec",
            "au",
            "aux",
            "dans",
            "qui",
            "pas",
            "une",
            "nous",
            "il",
            "sont",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "mit",
            "für",
            "auf",
            "den",
            "dem",
            "ein",
            "eine",
            "nicht",
            "zu",
            "im",
            "euer",
            "eure",
            "ihr",
            "von",
            "bei",
            "sich",
            "wir",
            "sind",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "los",
            "las",
            "y",
            "del",
            "con",
            "para",
            "por",
            "su",
            "sus",
            "al",
            "se",
            "muy",
            "está",
            "están",
            "nuestro",
            "nuestra",
            "tu",
        ]
    ),
}
_WORD = re.compile(r"[a-zà-öø-ÿß]+")
MIN_MARKERS: Final = 3


def detect_language(text: str) -> str | None:
    """The language most of ``text``'s marker words belong to; ``None`` when unsure."""
    words = _WORD.findall(text.lower())
    scores = {lang: sum(1 for w in words if w in markers) for lang, markers in _MARKERS.items()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < MIN_MARKERS or top <= second:
        return None
    return best


def written_in(text: str, language: str) -> bool:
    """Whether ``text`` is in ``language`` (an unsure detection counts as yes)."""
    detected = detect_language(text)
    return detected is None or detected == language


def language_instruction(language: str) -> str:
    """The system prompt's closing sentence asking for the answer's language."""
    name = PROMPT_LANGUAGE_NAMES.get(language, "English")
    return f" Write the briefing and the notes in {name}."

"""The bot's languages: one translation function, locale resolution and Babel formatting.

Every user-facing string goes through :func:`tr` with the English text as its message id and
named ``{placeholders}``; the translations live in gettext catalogues inside the package
(``services/locales/<lang>/LC_MESSAGES/gw2optimizer.po``, read with Babel, so a wheel install has
them without a build step). Discord command names and descriptions use the same catalogues, the
names under the ``command-name`` context (see ``bot/translator.py``).

Bad input never raises: an unknown or unsupported locale is English, and a message id missing
from a language (or whose translation is empty or has other placeholders) is shown in English and
counted in :attr:`Catalogues.missing` (exported as ``gw2opt_translations_missing_total``).

The catalogues are read once per process (:func:`catalogues`): they are package data, not state;
the only thing that changes is the miss counter, which metrics read.
"""

from __future__ import annotations

import logging
import string
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Final, Literal

from babel.dates import format_timedelta
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

DOMAIN: Final = "gw2optimizer"
DEFAULT_LOCALE: Final = "en"
# The languages the bot speaks, which are also the GW2 API's ``lang=`` values.
LOCALES: Final = ("en", "fr", "de", "es")
LOCALE_DIR: Final = Path(__file__).parent / "locales"
# gettext context of Discord command, option and choice names (lower case, no spaces).
NAME_CONTEXT: Final = "command-name"

# Language names shown in /settings, each in its own language.
LANGUAGE_NAMES: Final = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}


@lru_cache(maxsize=256)
def resolve_locale(value: object) -> str:
    """Our language for a Discord locale (``fr``, ``de``, ``es-ES``, ``es-419``, ``en-US``...).

    Accepts a ``discord.Locale`` (its ``str`` is the code), a string or ``None``; anything we
    don't speak is English.
    """
    if value is None:
        return DEFAULT_LOCALE
    code = str(value).strip().replace("_", "-").lower()
    language = code.split("-", 1)[0]
    return language if language in LOCALES else DEFAULT_LOCALE


def supported(value: object) -> str | None:
    """Our language for ``value`` when we speak it, else ``None`` (no silent English here)."""
    if value is None:
        return None
    language = str(value).strip().replace("_", "-").lower().split("-", 1)[0]
    return language if language in LOCALES else None


def tr(locale: str, message: str, /, **params: object) -> str:
    """``message`` (English, the message id) in ``locale``, its ``{placeholders}`` filled.

    Without ``params`` the text is returned as is (a literal brace is then harmless).
    """
    text = catalogues().translate(locale, message, context=None)
    if not params:
        return text
    params = {k: v.render(locale) if isinstance(v, Message) else v for k, v in params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("Could not fill the placeholders of %r", message)
        return message


class Message:
    """A message id and its parameters, translated later (when the reader's language is known).

    A parameter may itself be a ``Message``; ``str()`` is the English text.
    """

    __slots__ = ("id", "params")

    def __init__(self, message: str, /, **params: object) -> None:
        self.id = message
        self.params = params

    def render(self, locale: str) -> str:
        return tr(locale, self.id, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LOCALE)

    def __repr__(self) -> str:
        return f"Message({self.id!r})"


def N_(message: str) -> str:
    """gettext's marker: ``message`` is a message id, translated where shown (``tr``)."""
    return message


def tr_name(locale: str, name: str) -> str:
    """A command/option/choice ``name`` in ``locale`` (the ``command-name`` context)."""
    return catalogues().translate(locale, name, context=NAME_CONTEXT)


@lru_cache(maxsize=4096)
def placeholders(text: str) -> frozenset[str]:
    """The named ``{placeholders}`` of ``text``."""
    return frozenset(
        field.split(".", 1)[0].split("[", 1)[0]
        for _, field, _, _ in string.Formatter().parse(text)
        if field
    )


class Catalogues:
    """The ``.po`` catalogues of every language, and the count of strings that fell back."""

    def __init__(self, directory: Path = LOCALE_DIR) -> None:
        self.messages: dict[str, dict[tuple[str, str | None], str]] = {}
        for locale in LOCALES:
            self.messages[locale] = _read_catalogue(directory, locale)
        self.missing: Counter[str] = Counter()

    def translate(self, locale: str, message: str, *, context: str | None) -> str:
        language = resolve_locale(locale)
        if language == DEFAULT_LOCALE:
            return message
        translated = self.messages[language].get((message, context))
        if not translated or placeholders(translated) != placeholders(message):
            self.missing[language] += 1
            log.debug("No %s translation for %r", language, message)
            return message
        return translated


class MissingTranslationsCollector(Collector):
    """``gw2opt_translations_missing_total{locale}``: strings shown in English for lack of one."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "gw2opt_translations_missing",
            "Messages shown in English because their translation is missing or broken.",
            labels=["locale"],
        )
        missing = catalogues().missing
        for locale in LOCALES:
            if locale != DEFAULT_LOCALE:
                family.add_metric([locale], missing[locale])
        yield family


@cache
def catalogues() -> Catalogues:
    """The process's catalogues (package data, read on first use)."""
    return Catalogues()


# Babel formatting -------------------------------------------------------------------------------


def format_number(locale: str, value: float, *, decimals: int | None = None) -> str:
    """``12,345`` / ``12 345`` / ``12.345``: grouped with the locale's symbols (Babel's data).

    Integers, or ``decimals`` fixed digits; other floats use Babel's default pattern.
    """
    if decimals is None and not isinstance(value, int):
        return format_decimal(value, locale=resolve_locale(locale))
    text = f"{value:,}" if decimals is None else f"{value:,.{decimals}f}"
    group, decimal = _number_symbols(resolve_locale(locale))
    if (group, decimal) == (",", "."):
        return text
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@cache
def _number_symbols(language: str) -> tuple[str, str]:
    return get_group_symbol(language), get_decimal_symbol(language)


def format_compact_duration(locale: str, duration: timedelta) -> str:
    """``2d 3h``, ``1h 05m``, ``12m``, ``40s`` with the locale's unit abbreviations.

    English keeps the bot's historical compact form; other languages use Babel's narrow units
    (``2 j 3 h``, ``2 T 3 Std.``...).
    """
    language = resolve_locale(locale)
    seconds = max(0, int(duration.total_seconds()))
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    if language == DEFAULT_LOCALE:
        if days:
            return f"{days}d {hours}h"
        if hours:
            return f"{hours}h {minutes:02d}m"
        if minutes:
            return f"{minutes}m"
        return f"{seconds}s"

    if days:
        return f"{_unit(language, days, 'day')} {_unit(language, hours, 'hour')}"
    if hours:
        return f"{_unit(language, hours, 'hour')} {_unit(language, minutes, 'minute')}"
    if minutes:
        return _unit(language, minutes, "minute")
    return _unit(language, seconds, "second")


@lru_cache(maxsize=4096)
def _unit(language: str, amount: int, name: Literal["day", "hour", "minute", "second"]) -> str:
    """``5 Min.``: one amount of one unit, Babel's narrow form (cached: renders ask often)."""
    return format_timedelta(
        timedelta(seconds=amount * _UNIT_SECONDS[name]),
        granularity=name,
        threshold=10**9,
        format="narrow",
        locale=language,
    )


_UNIT_SECONDS: Final = {"day": 86_400, "hour": 3_600, "minute": 60, "second": 1}


def _read_catalogue(directory: Path, locale: str) -> dict[tuple[str, str | None], str]:
    path = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        log.warning("No %s catalogue at %s: that language falls back to English", locale, path)
        return {}
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale, domain=DOMAIN)
    messages: dict[tuple[str, str | None], str] = {}
    for entry in catalogue:
        if not entry.id or not isinstance(entry.id, str) or not isinstance(entry.string, str):
            continue
        if entry.fuzzy:
            continue
        messages[(entry.id, entry.context)] = entry.string
    return messages


# The server's language ------------------------------------------------------------------------

# ``guild_settings.language`` holds the column's default ``"en"`` until /settings language is
# used: that means "follow the server's preferred locale when we speak it". An explicit choice is
# stored as its code, English as ``"en-US"`` so that it stays English whatever the server prefers.
FOLLOW_SERVER: Final = "en"
EXPLICIT_ENGLISH: Final = "en-US"


def server_language(stored: str, preferred_locale: object) -> str:
    """The language of a server's public answers and scheduled posts."""
    if stored == FOLLOW_SERVER:
        return supported(preferred_locale) or DEFAULT_LOCALE
    return resolve_locale(stored)


def stored_language(choice: str) -> str:
    """What /settings language stores for ``choice`` (``auto``, ``en``, ``fr``, ``de``, ``es``)."""
    if choice == "auto":
        return FOLLOW_SERVER
    if choice == DEFAULT_LOCALE:
        return EXPLICIT_ENGLISH
    return resolve_locale(choice)

"""The bot's languages: one translation function, locale resolution and Babel formatting.

Every user-facing string goes through :func:`tr` with the English text as its message id and
named ``{placeholders}``; a sentence about a number of things goes through :func:`trn` (gettext's
``ngettext``: an English singular and plural, and in each catalogue one form per plural category
of the language, chosen by its ``Plural-Forms`` rule). The translations live in gettext catalogues
inside the package (``services/locales/<lang>/LC_MESSAGES/gw2optimizer.po``, read with Babel, so a
wheel install has them without a build step). Discord command names and descriptions use the same
catalogues, the names under the ``command-name`` context (see ``bot/translator.py``).

Bad input never raises: an unknown or unsupported locale is English, and a message id missing
from a language (or whose translation is empty or has other placeholders) is shown in English and
counted in :attr:`Catalogues.missing` (exported as ``gw2opt_translations_missing_total``).

The catalogues are read once per process (:func:`catalogues`): they are package data, not state;
the only thing that changes is the miss counter, which metrics read.
"""

from __future__ import annotations

import gettext
import logging
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Final, Literal

from babel.dates import format_timedelta
from babel.lists import format_list
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
    return _fill(locale, text, message, params)


def trn(locale: str, singular: str, plural: str, count: int, /, **params: object) -> str:
    """gettext's ``ngettext``: the form of ``singular``/``plural`` that ``count`` takes in
    ``locale`` (French says "0 compte", English "0 accounts"), placeholders filled.

    ``{count}`` is filled with ``count`` unless ``params`` give it another value (a formatted
    number, say).
    """
    text = catalogues().translate_plural(locale, singular, plural, count)
    return _fill(locale, text, plural, {"count": count, **params})


def _fill(locale: str, text: str, message: str, params: dict[str, object]) -> str:
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


class PluralMessage(Message):
    """:func:`trn` later: a counted message whose reader's language is not known yet."""

    __slots__ = ("count", "plural")

    def __init__(self, singular: str, plural: str, count: int, /, **params: object) -> None:
        super().__init__(singular, **params)
        self.plural = plural
        self.count = count

    def render(self, locale: str) -> str:
        return trn(locale, self.id, self.plural, self.count, **self.params)

    def __repr__(self) -> str:
        return f"PluralMessage({self.id!r}, {self.plural!r}, {self.count!r})"


class ListOf(Message):
    """Items joined the reader's way ("A, B or C", "A, B ou C", "A, B oder C"), each item a text
    or a :class:`Message` rendered in the same language; ``style`` is ``"or"``, ``"and"``, or
    ``"comma"`` (plain "A, B, C", the same in the four languages: a list of examples)."""

    __slots__ = ("items", "style")

    def __init__(
        self, items: Iterable[Message | str], *, style: Literal["or", "and", "comma"]
    ) -> None:
        super().__init__("")
        self.items = tuple(items)
        self.style = style

    def render(self, locale: str) -> str:
        shown = [i.render(locale) if isinstance(i, Message) else i for i in self.items]
        if not shown:
            return ""
        if self.style == "comma":
            return ", ".join(shown)
        if self.style == "or":
            return format_list(shown, style="or", locale=resolve_locale(locale))
        return format_list(shown, style="standard", locale=resolve_locale(locale))

    def __repr__(self) -> str:
        return f"ListOf({self.items!r}, style={self.style!r})"


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
        # (English singular, English plural) -> one form per plural category of the language.
        self.plurals: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {}
        self.rules: dict[str, PluralRule] = {}
        for locale in LOCALES:
            read = _read_catalogue(directory, locale)
            self.messages[locale] = read.messages
            self.plurals[locale] = read.plurals
            self.rules[locale] = read.rule
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

    def translate_plural(self, locale: str, singular: str, plural: str, count: int) -> str:
        """The form of a counted message for ``count`` in ``locale`` (English rules when the
        language lacks it, has an empty form, other placeholders or too few forms)."""
        language = resolve_locale(locale)
        english = singular if ENGLISH_RULE(count) == 0 else plural
        if language == DEFAULT_LOCALE:
            return english
        rule = self.rules[language]
        forms = self.plurals[language].get((singular, plural), ())
        wanted = placeholders(plural)
        if len(forms) != rule.forms or any(
            not form or placeholders(form) != wanted for form in forms
        ):
            self.missing[language] += 1
            log.debug("No %s plural translation for %r", language, plural)
            return english
        return forms[rule.form(count)]


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


@dataclass(frozen=True)
class PluralRule:
    """A catalogue's ``Plural-Forms``: how many forms a counted message has and which one a
    count takes (``plural=(n > 1)`` in French: 0 and 1 are singular)."""

    expression: str = "(n != 1)"
    forms: int = 2
    _index: Callable[[int], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # gettext's own parser of the C expression (it accepts nothing else).
        object.__setattr__(self, "_index", gettext.c2py(self.expression))

    def form(self, count: int) -> int:
        """The index of the form ``count`` takes (clamped: a bad rule cannot raise)."""
        return min(max(self._index(abs(int(count))), 0), self.forms - 1)


ENGLISH_RULE: Final = PluralRule().form


@dataclass(frozen=True)
class _ReadCatalogue:
    messages: dict[tuple[str, str | None], str]
    plurals: dict[tuple[str, str], tuple[str, ...]]
    rule: PluralRule


def _read_catalogue(directory: Path, locale: str) -> _ReadCatalogue:
    path = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        log.warning("No %s catalogue at %s: that language falls back to English", locale, path)
        return _ReadCatalogue({}, {}, PluralRule())
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=locale, domain=DOMAIN)
    messages: dict[tuple[str, str | None], str] = {}
    plurals: dict[tuple[str, str], tuple[str, ...]] = {}
    for entry in catalogue:
        if not entry.id or entry.fuzzy:
            continue
        if isinstance(entry.id, str) and isinstance(entry.string, str):
            messages[(entry.id, entry.context)] = entry.string
        elif isinstance(entry.id, tuple) and entry.context is None and len(entry.id) == 2:
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            plurals[(entry.id[0], entry.id[1])] = tuple(str(s or "") for s in strings)
    rule = PluralRule(catalogue.plural_expr, catalogue.num_plurals)
    return _ReadCatalogue(messages, plurals, rule)


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

"""The DM-less way to link a key: the "Paste key privately" button and its private text input.

The button is persistent (its custom id is dispatched after a restart too). When a server of the
user's requires key ownership and no link is pending, pressing it first shows the ownership code.
The key itself is handled by :meth:`cogs.keys.KeyLinking.link_pasted_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import discord

from services.i18n import N_, tr
from services.keys import OwnershipPolicy, parse_key
from services.keys.validation import format_help

from . import account_render as render
from .common.answering import answer_component_error
from .common.key_policy import member_of_required_guild, requires_ownership
from .common.locale import user_locale

if TYPE_CHECKING:
    from bot.client import GW2Bot
    from services.keys import KeyMetrics, ParsedKey

PASTE_BUTTON_ID = "gw2opt:key:paste"
PASTE_MODAL_ID = "gw2opt:key:modal"
# The button must answer within Discord's 3 s: few membership look-ups (see key_policy).
BUTTON_PROBES = 3
CODE_NEEDED_BUTTON = N_(
    "A server you are in requires proof that a linked key is yours, so the key's name must "
    "contain an ownership code. Create a key named with the code below, then press the button "
    "again and paste it."
)


@dataclass(frozen=True, slots=True)
class PendingLink:
    """A ``/key add`` waiting for its key: the one-time code and the policy of where it began."""

    code: str
    policy: OwnershipPolicy
    expires_mono: float
    locale: str = "en"  # the language of /key add: the DM flow answers in it


@dataclass(frozen=True, slots=True)
class LinkReply:
    """What to answer a pasted key with."""

    content: str | None = None
    embed: discord.Embed | None = None


class KeyLinker(Protocol):
    """What the button and modal need of the ``/key`` cog (``cogs.keys.KeyLinking``)."""

    @property
    def bot(self) -> GW2Bot: ...

    @property
    def metrics(self) -> KeyMetrics: ...

    def pending_link(self, user_id: int) -> PendingLink | None: ...

    def start_pending_link(
        self, user_id: int, policy: OwnershipPolicy, locale: str = "en"
    ) -> PendingLink: ...

    async def link_pasted_key(self, user_id: int, parsed: ParsedKey) -> LinkReply: ...


class PasteKeyView(discord.ui.View):
    """The "Paste key privately" button (persistent: it works after a restart too)."""

    def __init__(self, cog: KeyLinker, locale: str = "en") -> None:
        super().__init__(timeout=None)
        self.cog = cog
        # The persistent instance (after a restart) keeps the English label.
        self.paste.label = tr(locale, "Paste key privately")

    @discord.ui.button(
        label="Paste key privately", style=discord.ButtonStyle.primary, custom_id=PASTE_BUTTON_ID
    )
    async def paste(
        self, interaction: discord.Interaction[GW2Bot], _button: discord.ui.Button[PasteKeyView]
    ) -> None:
        locale = user_locale(interaction)
        user_id = interaction.user.id
        if self.cog.pending_link(user_id) is None:
            # After a restart (or 30 minutes) no code is pending: one is needed when a server of
            # the user's requires ownership, and the user must see it before creating the key.
            required = await requires_ownership(
                self.cog.bot, interaction.guild_id
            ) or await member_of_required_guild(self.cog.bot, user_id, probes=BUTTON_PROBES)
            policy: OwnershipPolicy = "required" if required else "optional"
            pending = self.cog.start_pending_link(user_id, policy, locale)
            if required:
                await interaction.response.send_message(
                    tr(locale, CODE_NEEDED_BUTTON),
                    embed=render.link_instructions(pending.code, policy, locale),
                    view=PasteKeyView(self.cog, locale),
                    ephemeral=True,
                )
                return
        await interaction.response.send_modal(PasteKeyModal(self.cog, locale))


class PasteKeyModal(discord.ui.Modal, title="Link your GW2 API key"):
    """The DM-less way to hand over a key: a private text input."""

    def __init__(self, cog: KeyLinker, locale: str = "en") -> None:
        super().__init__(custom_id=PASTE_MODAL_ID, title=tr(locale, "Link your GW2 API key"))
        # Built per modal: its label speaks the user's language.
        self.api_key: discord.ui.TextInput[PasteKeyModal] = discord.ui.TextInput(
            label=tr(locale, "Your API key"),
            custom_id="key",
            placeholder="XXXXXXXX-XXXX-…",
            min_length=20,
            max_length=4000,
        )
        self.add_item(self.api_key)
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        parsed = parse_key(self.api_key.value)
        if parsed is None:
            self.cog.metrics.link_attempt("invalid_format")
            await interaction.response.send_message(
                format_help(user_locale(interaction)), ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        answer = await self.cog.link_pasted_key(interaction.user.id, parsed)
        kwargs: dict[str, Any] = {"ephemeral": True}
        if answer.embed is not None:
            kwargs["embed"] = answer.embed
        await interaction.followup.send(answer.content or "", **kwargs)

    async def on_error(  # type: ignore[override]  # Modal's signature differs from View's
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await answer_component_error(interaction, error, name="key modal")

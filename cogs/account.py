"""``/account`` and ``/characters``: what the linked key shows (privately to its owner).

Every call with a stored key is recorded for revalidation (``services.keys.revalidator``): an
invalid-key answer counts once towards marking the key invalid, a success resets the streak.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.storage.keys import UsableKey
from services.accounts import fetch_account_overview, fetch_characters
from services.errors import UserFacingError
from services.i18n import N_, tr

from . import account_render as render
from .common.locale import user_locale

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)


class AccountCog(commands.Cog, name="Account"):
    """``/account`` and ``/characters``."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Answers page clicks whose live view is gone (timed out, or the bot restarted).
        self.bot.add_view(ExpiredCharacterPages())

    @app_commands.command(name="account")
    async def account(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your GW2 account: WvW team and rank, expansions, guilds."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        usable = await self._usable_key(interaction.user.id)
        gw2 = self.bot.services.gw2
        overview = await self.bot.services.key_checks.use_key(
            usable.linked,
            usable.key,
            lambda key: fetch_account_overview(gw2, key, usable.linked.permissions),
        )
        embed = render.account_embed(overview, user_locale(interaction))
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="characters")
    async def characters(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your active account's characters: profession, elite spec, level, time played."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        usable = await self._usable_key(interaction.user.id)
        gw2 = self.bot.services.gw2
        locale = user_locale(interaction)
        roster = await self.bot.services.key_checks.use_key(
            usable.linked,
            usable.key,
            lambda key: fetch_characters(gw2, key, usable.linked.permissions, lang=locale),
        )
        pages = render.character_pages(roster, usable.linked.account_name, locale)
        if len(pages) == 1:
            await interaction.followup.send(embed=pages[0], ephemeral=True)
            return
        view = CharacterPagesView(pages, owner_id=interaction.user.id, locale=locale)
        await interaction.followup.send(embed=pages[0], view=view, ephemeral=True)

    async def _usable_key(self, user_id: int) -> UsableKey:
        usable = await self.bot.services.keys.active_key(user_id)
        if usable is None:
            raise UserFacingError(render.NO_KEY)
        return usable


class CharacterPagesView(discord.ui.View):
    """Previous/next buttons over ``/characters`` pages, for the user who asked."""

    def __init__(self, pages: list[discord.Embed], *, owner_id: int, locale: str = "en") -> None:
        super().__init__(timeout=600)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.previous.label = "◀ " + tr(locale, "Previous")
        self.next.label = tr(locale, "Next") + " ▶"
        self._sync_buttons()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="◀ Previous", custom_id="gw2opt:chars:prev")
    async def previous(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[CharacterPagesView]
    ) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="Next ▶", custom_id="gw2opt:chars:next")
    async def next(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[CharacterPagesView]
    ) -> None:
        await self._show(interaction, self.index + 1)

    async def _show(self, interaction: discord.Interaction[Any], index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1


class ExpiredCharacterPages(discord.ui.View):
    """The fallback for ``/characters`` page buttons that no live view handles any more.

    discord.py looks for a view bound to the clicked message first, so this persistent view only
    answers when the pages' own view has timed out or the bot has restarted.
    """

    EXPIRED = N_("These pages expired. Run `/characters` again to see your characters.")

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="◀ Previous", custom_id="gw2opt:chars:prev")
    async def previous(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        text = tr(user_locale(interaction), self.EXPIRED)
        await interaction.response.edit_message(content=text, view=None)

    @discord.ui.button(label="Next ▶", custom_id="gw2opt:chars:next")
    async def next(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        text = tr(user_locale(interaction), self.EXPIRED)
        await interaction.response.edit_message(content=text, view=None)


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(AccountCog(bot))

"""``/key``: link GW2 API keys privately (by DM, or a modal when DMs are closed).

``/key add`` issues a one-time ownership code and DMs the steps; the user pastes the key in that
DM (or in the modal); the key is checked (format, ``/v2/tokeninfo`` permissions and name,
``/v2/account``) and stored encrypted only when the required permissions are there. ``/key info``,
``switch`` and ``remove`` manage what is linked.

Events: after a successful link, a switch and a removal this cog dispatches
``gw2_key_changed(user_id)`` (listen with ``on_gw2_key_changed``), so features such as verified
roles follow a user's keys without importing this extension.

Keys never reach logs, embeds (beyond the masked prefix), metrics or exceptions: the plaintext
lives in local variables between the vault and the GW2 client only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.storage.keys import LinkedKey
from services.accounts import check_key
from services.errors import UserFacingError
from services.gw2 import GW2APIError, InvalidKeyError
from services.i18n import N_, tr, trn
from services.keys import (
    AttemptLimiter,
    KeyMetrics,
    OwnershipPolicy,
    ParsedKey,
    ownership_code,
    parse_key,
    retry_message,
)
from services.keys.metrics import LinkOutcome
from services.keys.validation import format_help
from services.secrets import find_gw2_api_keys

from . import account_render as render
from .common.answering import send_quietly
from .common.key_policy import member_of_required_guild
from .common.locale import user_locale
from .keys_paste import LinkReply, PasteKeyView, PendingLink

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

PENDING_LINK_TTL_S = 30 * 60.0
ATTEMPTS_PER_WINDOW = 5
ATTEMPT_WINDOW_S = 10 * 60.0
DM_CLOSED_CODE = 50007
CODE_NEEDED = N_(
    "A server you are in requires proof that a linked key is yours, so the key's name must "
    "contain an ownership code. I did not store this key. Create a key named with the code below "
    "and paste it here."
)


class KeyLinking(commands.Cog):
    """``/key`` and the DM flow that links a key."""

    key = app_commands.Group(name="key", description="Link your GW2 API key privately")

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        services = bot.services
        self.clock = services.clock
        self.metrics = services.metric_set(KeyMetrics)
        self.limiter = AttemptLimiter(ATTEMPTS_PER_WINDOW, ATTEMPT_WINDOW_S, clock=services.clock)
        self._pending: dict[int, PendingLink] = {}
        self._paste_view = PasteKeyView(self)

    async def cog_load(self) -> None:
        self.bot.add_view(self._paste_view)

    async def cog_unload(self) -> None:
        self._paste_view.stop()

    # /key --------------------------------------------------------------------------------------

    @key.command(name="add")
    async def key_add(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Link a GW2 API key: I'll DM you how, and you paste it there."""
        # Opening the DM takes two requests (more when Discord rate-limits): answer first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        policy: OwnershipPolicy = "optional"
        if interaction.guild_id is not None:
            settings = await self.bot.services.guild_settings.get(interaction.guild_id)
            policy = settings.key_ownership_policy
        locale = user_locale(interaction)
        pending = self.start_pending_link(interaction.user.id, policy, locale)
        instructions = render.link_instructions(pending.code, policy, locale)
        try:
            await interaction.user.send(embed=instructions)
        except discord.HTTPException as error:
            if not isinstance(error, discord.Forbidden) or error.code != DM_CLOSED_CODE:
                log.warning("Could not DM key instructions (HTTP %s)", error.status)
            await interaction.followup.send(
                tr(locale, render.DMS_CLOSED),
                embed=instructions,
                view=PasteKeyView(self, locale),
                ephemeral=True,
            )
            return
        await interaction.followup.send(tr(locale, render.CHECK_DMS), ephemeral=True)

    @key.command(name="info")
    async def key_info(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your linked accounts: key name, permissions, when linked and last checked."""
        linked = await self.bot.services.keys.list_for_user(interaction.user.id)
        if not linked:
            raise UserFacingError(render.NO_KEY)
        embed = render.key_info_embed(linked, user_locale(interaction))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @key.command(name="switch")
    @app_commands.describe(account="The account to use, e.g. Name.1234")
    async def key_switch(self, interaction: discord.Interaction[GW2Bot], account: str) -> None:
        """Choose which of your linked accounts the bot uses."""
        switched = await self.bot.services.keys.switch(interaction.user.id, account.strip())
        if switched is None:
            raise UserFacingError(
                "You have no linked account called “{account}”. /key info lists yours.",
                account=render.plain(account, limit=60),
            )
        self.bot.dispatch("gw2_key_changed", interaction.user.id)  # see link_pasted_key
        await interaction.response.send_message(
            tr(
                user_locale(interaction),
                "Now using **{account}**.",
                account=render.plain(switched.account_name),
            ),
            ephemeral=True,
        )

    @key_switch.autocomplete("account")
    async def _account_autocomplete(
        self, interaction: discord.Interaction[GW2Bot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._account_choices(interaction.user.id, current)

    @key.command(name="remove")
    @app_commands.rename(forget_all="all")
    @app_commands.describe(
        account="The account whose key to delete (default: the active one)",
        forget_all="Delete every key and everything the bot knows about you",
    )
    async def key_remove(
        self,
        interaction: discord.Interaction[GW2Bot],
        account: str | None = None,
        forget_all: bool = False,
    ) -> None:
        """Delete a linked key and everything cached from it."""
        user_id = interaction.user.id
        locale = user_locale(interaction)
        store = self.bot.services.keys
        linked = await store.list_for_user(user_id)
        if forget_all:
            for item in linked:
                self._forget_cache(item)
            removed = await store.remove_all(user_id)
            self._pending.pop(user_id, None)
            self.bot.dispatch("gw2_key_changed", user_id)  # see link_pasted_key
            await interaction.response.send_message(
                trn(
                    locale,
                    "Done: I forgot you. {count} linked account and everything cached from it "
                    "are deleted.",
                    "Done: I forgot you. {count} linked accounts and everything cached from "
                    "them are deleted.",
                    removed,
                ),
                ephemeral=True,
            )
            return
        if not linked:
            raise UserFacingError(render.NO_KEY)
        if account is None:
            target = next((k for k in linked if k.is_active), linked[0])
        else:
            wanted = account.strip().lower()
            found = next((k for k in linked if k.account_name.lower() == wanted), None)
            if found is None:
                raise UserFacingError(
                    "You have no linked account called “{account}”. /key info lists yours.",
                    account=render.plain(account, limit=60),
                )
            target = found
        self._forget_cache(target)
        await store.remove(user_id, target.account_id)
        self.bot.dispatch("gw2_key_changed", user_id)  # see link_pasted_key
        active = await store.active(user_id)
        after = (
            tr(
                locale,
                "The bot now uses **{account}**.",
                account=render.plain(active.account_name),
            )
            if active
            else tr(locale, "You have no linked accounts left.")
        )
        removed_text = tr(
            locale,
            "Removed the key of **{account}**.",
            account=render.plain(target.account_name),
        )
        await interaction.response.send_message(
            f"{removed_text} {after}",
            ephemeral=True,
        )

    @key_remove.autocomplete("account")
    async def _remove_autocomplete(
        self, interaction: discord.Interaction[GW2Bot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._account_choices(interaction.user.id, current)

    # The DM flow -------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        # Messages in servers are the leak guard's (cogs/leak_guard.py).
        if message.author.bot or message.guild is not None:
            return
        await self._on_direct_message(message)

    async def _on_direct_message(self, message: discord.Message) -> None:
        text = message.content
        parsed = parse_key(text)
        if parsed is None:
            shaped = find_gw2_api_keys(text)
            parsed = parse_key(shaped[0]) if shaped else None
        if parsed is None:
            pending = self.pending_link(message.author.id)
            if pending is None:
                locale = await self.bot.user_locales.of(message.author.id)
                await send_quietly(message.channel, content=tr(locale, render.DM_HINT))
                return
            self.metrics.link_attempt("invalid_format")
            await send_quietly(message.channel, content=format_help(pending.locale))
            return
        async with message.channel.typing():
            try:
                answer = await self.link_pasted_key(message.author.id, parsed)
            except UserFacingError as error:  # e.g. the database is full: nothing was stored
                answer = LinkReply(error.localised(await self._locale(message.author.id)))
        await send_quietly(message.channel, content=answer.content, embed=answer.embed)

    # Linking -----------------------------------------------------------------------------------

    def start_pending_link(
        self, user_id: int, policy: OwnershipPolicy, locale: str = "en"
    ) -> PendingLink:
        """A fresh one-time code for ``user_id`` (replacing any earlier one)."""
        self._drop_expired_links()
        pending = PendingLink(
            ownership_code(), policy, self.clock.monotonic() + PENDING_LINK_TTL_S, locale
        )
        self._pending[user_id] = pending
        return pending

    def pending_link(self, user_id: int) -> PendingLink | None:
        pending = self._pending.get(user_id)
        if pending is not None and pending.expires_mono <= self.clock.monotonic():
            del self._pending[user_id]
            return None
        return pending

    async def link_pasted_key(self, user_id: int, parsed: ParsedKey) -> LinkReply:
        """Check a pasted key and store it when it qualifies; the answer for the user."""
        retry_after = self.limiter.check(user_id)
        pending = self.pending_link(user_id)
        locale = await self._locale(user_id)
        if retry_after is not None:
            self.metrics.link_attempt("rate_limited")
            return LinkReply(retry_message(retry_after, locale))
        policy: OwnershipPolicy = pending.policy if pending else "optional"
        if policy != "required" and await member_of_required_guild(self.bot, user_id):
            policy = "required"
        if pending is None and policy == "required":
            # No code was issued (a restart, 30 minutes, no /key add): ask for one, store nothing.
            pending = self.start_pending_link(user_id, policy, locale)
            self.metrics.link_attempt("ownership_failed")
            return LinkReply(
                tr(locale, CODE_NEEDED), render.link_instructions(pending.code, policy, locale)
            )
        try:
            check = await check_key(
                self.bot.services.gw2, parsed, pending.code if pending else None, policy
            )
        except InvalidKeyError:
            self.metrics.link_attempt("invalid_key")
            return LinkReply(render.invalid_key(locale))
        except GW2APIError as error:
            self.metrics.link_attempt("api_error")
            log.info("Key check failed: GW2 API %s", error.outcome)
            return LinkReply(tr(locale, render.API_DOWN))
        if not check.can_store or check.account_id is None or check.account_name is None:
            outcome: LinkOutcome = "missing_permissions"
            if not check.checklist.missing_required and check.checklist.ownership_blocks:
                outcome = "ownership_failed"
            self.metrics.link_attempt(outcome)
            return LinkReply(embed=render.checklist_embed(check, linked=False, locale=locale))
        await self.bot.services.keys.link(
            user_id=user_id,
            key=parsed.value,
            account_id=check.account_id,
            account_name=check.account_name,
            key_name=check.key_name,
            key_type=check.key_type,
            permissions=check.permissions,
            ownership_verified=check.checklist.ownership_verified,
            now=self.clock.now(),
            locale=pending.locale if pending is not None else None,  # None: keep the stored one
        )
        self._pending.pop(user_id, None)
        # Other cogs (verified roles, ownership policies) react to links, removals and switches.
        self.bot.dispatch("gw2_key_changed", user_id)
        self.metrics.link_attempt("linked")
        log.info("User %d linked a key (%s)", user_id, parsed.kind)
        return LinkReply(embed=render.checklist_embed(check, linked=True, locale=locale))

    # Helpers -----------------------------------------------------------------------------------

    async def _locale(self, user_id: int) -> str:
        """The language of ``/key add`` when one is pending, else the user's last seen one."""
        pending = self.pending_link(user_id)
        return pending.locale if pending is not None else await self.bot.user_locales.of(user_id)

    async def _account_choices(self, user_id: int, current: str) -> list[app_commands.Choice[str]]:
        wanted = current.strip().lower()
        linked = await self.bot.services.keys.list_for_user(user_id)
        return [
            app_commands.Choice(name=item.account_name[:100], value=item.account_name[:100])
            for item in linked
            if wanted in item.account_name.lower()
        ][:25]

    def _forget_cache(self, linked: LinkedKey) -> None:
        # The stored fingerprint is the cache's key id: no need to decrypt the key.
        self.bot.services.gw2.cache.invalidate_key_id(linked.fingerprint)

    def _drop_expired_links(self) -> None:
        now = self.clock.monotonic()
        for user_id in [u for u, p in self._pending.items() if p.expires_mono <= now]:
            del self._pending[user_id]


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(KeyLinking(bot))

"""GW2 API keys per Discord user, linked privately by DM; ``/account`` and ``/characters``.

The linking flow: ``/key add`` issues a one-time ownership code and DMs the steps; the user pastes
the key in that DM (or, with DMs closed, in a modal); the key is checked (format, ``/v2/tokeninfo``
permissions and name, ``/v2/account``) and stored encrypted only when the required permissions are
there. Keys pasted in server channels are deleted by the leak guard and never stored.

Stored keys are re-checked when used and by a slow background loop; a key is marked invalid only
after repeated invalid-key answers over time, never in a cycle where most keys fail at once (an API
outage), and its owner is told once by DM.

Keys never reach logs, embeds (beyond the masked prefix), metrics or exceptions: the plaintext
lives in local variables between the vault and the GW2 client only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.storage.keys import LinkedKey, UsableKey
from services.accounts import check_key, fetch_account_overview, fetch_characters
from services.errors import UserFacingError
from services.gw2 import GW2APIError, InvalidKeyError
from services.keys import (
    FORMAT_HELP,
    AttemptLimiter,
    CheckResult,
    CycleDecision,
    KeyMetrics,
    OwnershipPolicy,
    ParsedKey,
    RevalidationPolicy,
    decide,
    ownership_code,
    parse_key,
    retry_message,
)
from services.keys.metrics import LinkOutcome
from services.secrets import find_gw2_api_keys

from . import account_render as render

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

T = TypeVar("T")

PENDING_LINK_TTL_S = 30 * 60.0
ATTEMPTS_PER_WINDOW = 5
ATTEMPT_WINDOW_S = 10 * 60.0
REVALIDATION_INTERVAL_S = 6 * 3600.0
REVALIDATION_JITTER = 0.1  # ±10 % so restarts and several processes spread out
REVALIDATION_CONCURRENCY = 4
PASTE_BUTTON_ID = "gw2opt:key:paste"
PASTE_MODAL_ID = "gw2opt:key:modal"
DM_CLOSED_CODE = 50007


@dataclass(frozen=True, slots=True)
class PendingLink:
    """A ``/key add`` waiting for its key: the one-time code and the policy of where it began."""

    code: str
    policy: OwnershipPolicy
    expires_mono: float


@dataclass(frozen=True, slots=True)
class LinkReply:
    """What to answer a pasted key with."""

    content: str | None = None
    embed: discord.Embed | None = None


class AccountCog(commands.Cog, name="Account"):
    """Key linking, the leak guard, revalidation, ``/account`` and ``/characters``."""

    key = app_commands.Group(name="key", description="Link your GW2 API key privately")

    def __init__(
        self,
        bot: GW2Bot,
        *,
        revalidation_interval_s: float = REVALIDATION_INTERVAL_S,
        policy: RevalidationPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.bot = bot
        services = bot.services
        self.clock = services.clock
        self.metrics = services.metric_set(KeyMetrics)
        self.limiter = AttemptLimiter(ATTEMPTS_PER_WINDOW, ATTEMPT_WINDOW_S, clock=services.clock)
        self.policy = policy or RevalidationPolicy()
        self.revalidation_interval_s = revalidation_interval_s
        self._rng = rng or random.Random()
        self._pending: dict[int, PendingLink] = {}
        self._paste_view = PasteKeyView(self)
        self._revalidation_task: asyncio.Task[None] | None = None

    # Lifecycle ---------------------------------------------------------------------------------

    async def cog_load(self) -> None:
        self.bot.add_view(self._paste_view)
        # Answers page clicks whose live view is gone (timed out, or the bot restarted).
        self.bot.add_view(ExpiredCharacterPages())
        self._revalidation_task = asyncio.create_task(
            self._revalidation_loop(), name="key-revalidation"
        )

    async def cog_unload(self) -> None:
        self._paste_view.stop()
        task, self._revalidation_task = self._revalidation_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

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
        pending = self.start_pending_link(interaction.user.id, policy)
        instructions = render.link_instructions(pending.code, policy)
        try:
            await interaction.user.send(embed=instructions)
        except discord.HTTPException as error:
            if not isinstance(error, discord.Forbidden) or error.code != DM_CLOSED_CODE:
                log.warning("Could not DM key instructions (HTTP %s)", error.status)
            await interaction.followup.send(
                render.DMS_CLOSED, embed=instructions, view=PasteKeyView(self), ephemeral=True
            )
            return
        await interaction.followup.send(render.CHECK_DMS, ephemeral=True)

    @key.command(name="info")
    async def key_info(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your linked accounts: key name, permissions, when linked and last checked."""
        linked = await self.bot.services.keys.list_for_user(interaction.user.id)
        if not linked:
            raise UserFacingError(render.NO_KEY)
        await interaction.response.send_message(embed=render.key_info_embed(linked), ephemeral=True)

    @key.command(name="switch")
    @app_commands.describe(account="The account to use, e.g. Name.1234")
    async def key_switch(self, interaction: discord.Interaction[GW2Bot], account: str) -> None:
        """Choose which of your linked accounts the bot uses."""
        switched = await self.bot.services.keys.switch(interaction.user.id, account.strip())
        if switched is None:
            raise UserFacingError(
                f"You have no linked account called “{render.plain(account, limit=60)}”. "
                "/key info lists yours."
            )
        await interaction.response.send_message(
            f"Now using **{render.plain(switched.account_name)}**.", ephemeral=True
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
        store = self.bot.services.keys
        linked = await store.list_for_user(user_id)
        if forget_all:
            for item in linked:
                self._forget_cache(item)
            removed = await store.remove_all(user_id)
            self._pending.pop(user_id, None)
            await interaction.response.send_message(
                f"Done: I forgot you. {removed} linked account(s) and everything cached from "
                "them are deleted.",
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
                    f"You have no linked account called “{render.plain(account, limit=60)}”. "
                    "/key info lists yours."
                )
            target = found
        self._forget_cache(target)
        await store.remove(user_id, target.account_id)
        active = await store.active(user_id)
        after = (
            f" The bot now uses **{render.plain(active.account_name)}**."
            if active
            else " You have no linked accounts left."
        )
        await interaction.response.send_message(
            f"Removed the key of **{render.plain(target.account_name)}**.{after}",
            ephemeral=True,
        )

    @key_remove.autocomplete("account")
    async def _remove_autocomplete(
        self, interaction: discord.Interaction[GW2Bot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._account_choices(interaction.user.id, current)

    # /account and /characters ------------------------------------------------------------------

    @app_commands.command(name="account")
    async def account(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your GW2 account: WvW team and rank, expansions, guilds."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        usable = await self._usable_key(interaction.user.id)
        gw2 = self.bot.services.gw2
        overview = await self.use_key(
            usable,
            lambda key: fetch_account_overview(gw2, key, usable.linked.permissions),
        )
        await interaction.followup.send(embed=render.account_embed(overview), ephemeral=True)

    @app_commands.command(name="characters")
    async def characters(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Your active account's characters: profession, elite spec, level, time played."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        usable = await self._usable_key(interaction.user.id)
        gw2 = self.bot.services.gw2
        roster = await self.use_key(
            usable, lambda key: fetch_characters(gw2, key, usable.linked.permissions)
        )
        pages = render.character_pages(roster, usable.linked.account_name)
        if len(pages) == 1:
            await interaction.followup.send(embed=pages[0], ephemeral=True)
            return
        view = CharacterPagesView(pages, owner_id=interaction.user.id)
        await interaction.followup.send(embed=pages[0], view=view, ephemeral=True)

    # The DM flow and the leak guard ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.guild is None:
            await self._on_direct_message(message)
        else:
            await self._guard_against_leak(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A key added to a public message by editing it is as public as a pasted one."""
        message = payload.message
        if message.author.bot or message.guild is None:
            return
        before = payload.cached_message
        if before is not None and find_gw2_api_keys(before.content):
            return  # the guard saw this key when the message was posted
        await self._guard_against_leak(message)

    async def _on_direct_message(self, message: discord.Message) -> None:
        text = message.content
        parsed = parse_key(text)
        if parsed is None:
            shaped = find_gw2_api_keys(text)
            parsed = parse_key(shaped[0]) if shaped else None
        if parsed is None:
            reply = render.DM_HINT
            if self.pending_link(message.author.id) is not None:
                self.metrics.link_attempt("invalid_format")
                reply = FORMAT_HELP
            await _send_quietly(message.channel, content=reply)
            return
        async with message.channel.typing():
            try:
                answer = await self.link_pasted_key(message.author.id, parsed)
            except UserFacingError as error:  # e.g. the database is full: nothing was stored
                answer = LinkReply(str(error))
        await _send_quietly(message.channel, content=answer.content, embed=answer.embed)

    async def _guard_against_leak(self, message: discord.Message) -> None:
        if not self.bot.services.settings.security.leak_guard_enabled:
            return
        if not find_gw2_api_keys(message.content) or message.guild is None:
            return
        settings = await self.bot.services.guild_settings.get(message.guild.id)
        if not settings.leak_guard_enabled:
            return
        deleted = True
        try:
            await message.delete()
        except discord.NotFound:
            pass  # already gone
        except discord.HTTPException as error:
            deleted = False
            log.info(
                "Could not delete a message with an API key in guild %d (HTTP %s)",
                message.guild.id,
                error.status,
            )
        self.metrics.leaked_key("deleted" if deleted else "could_not_delete")
        log.info(
            "API key posted in guild %d channel %d: %s",
            message.guild.id,
            message.channel.id,
            "deleted" if deleted else "left in place",
        )
        where = f"#{getattr(message.channel, 'name', 'a channel')} on {message.guild.name}"
        try:
            await message.author.send(render.leak_notice(where, deleted))
        except discord.HTTPException:
            await _send_quietly(
                message.channel,
                content=render.leak_channel_notice(message.author.mention, deleted),
                allowed_mentions=discord.AllowedMentions(users=[message.author]),
            )

    # Linking -----------------------------------------------------------------------------------

    def start_pending_link(self, user_id: int, policy: OwnershipPolicy) -> PendingLink:
        """A fresh one-time code for ``user_id`` (replacing any earlier one)."""
        self._drop_expired_links()
        pending = PendingLink(ownership_code(), policy, self.clock.monotonic() + PENDING_LINK_TTL_S)
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
        if retry_after is not None:
            self.metrics.link_attempt("rate_limited")
            return LinkReply(retry_message(retry_after))
        pending = self.pending_link(user_id)
        try:
            check = await check_key(
                self.bot.services.gw2,
                parsed,
                pending.code if pending else None,
                pending.policy if pending else "optional",
            )
        except InvalidKeyError:
            self.metrics.link_attempt("invalid_key")
            return LinkReply(render.INVALID_KEY)
        except GW2APIError as error:
            self.metrics.link_attempt("api_error")
            log.info("Key check failed: GW2 API %s", error.outcome)
            return LinkReply(render.API_DOWN)
        if not check.can_store or check.account_id is None or check.account_name is None:
            outcome: LinkOutcome = "missing_permissions"
            if not check.checklist.missing_required and check.checklist.ownership_blocks:
                outcome = "ownership_failed"
            self.metrics.link_attempt(outcome)
            return LinkReply(embed=render.checklist_embed(check, linked=False))
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
        )
        self._pending.pop(user_id, None)
        self.metrics.link_attempt("linked")
        log.info("User %d linked a key (%s)", user_id, parsed.kind)
        return LinkReply(embed=render.checklist_embed(check, linked=True))

    # Using a stored key ------------------------------------------------------------------------

    async def use_key(self, usable: UsableKey, call: Callable[[str], Awaitable[T]]) -> T:
        """Run ``call`` with the plaintext key and record the answer for revalidation.

        An invalid-key answer counts once towards marking the key invalid (never drops it on one
        failure) and is re-raised for the user; a success resets the key's failure streak.
        """
        linked = usable.linked
        try:
            result = await call(usable.key)
        except InvalidKeyError:
            await self._record_use(linked, CheckResult.INVALID_KEY)
            raise
        await self._record_use(linked, CheckResult.VALID)
        return result

    async def _record_use(self, linked: LinkedKey, result: CheckResult) -> None:
        now = self.clock.now()
        decision = decide({linked.id: result}, {linked.id: linked.failure}, now, self.policy)
        self.metrics.record_decision(decision)
        state = decision.states[linked.id]
        if result is CheckResult.VALID or state != linked.failure:
            await self.bot.services.keys.save_failure_state(
                linked.id, state, validated_at=now if result is CheckResult.VALID else None
            )

    async def _usable_key(self, user_id: int) -> UsableKey:
        usable = await self.bot.services.keys.active_key(user_id)
        if usable is None:
            raise UserFacingError(render.NO_KEY)
        return usable

    # Revalidation ------------------------------------------------------------------------------

    async def revalidate_all(self) -> CycleDecision[int]:
        """One background cycle: re-check every stored key, apply the policy, tell users once."""
        store = self.bot.services.keys
        linked = await store.all_keys()
        by_id = {item.id: item for item in linked}
        results: dict[int, CheckResult] = {}
        gate = asyncio.Semaphore(REVALIDATION_CONCURRENCY)

        async def check(item: LinkedKey) -> None:
            async with gate:
                try:
                    key = await store.decrypt(item)
                except LookupError:
                    return  # removed while the cycle ran
                results[item.id] = await self._check_stored_key(key)

        await asyncio.gather(*(check(item) for item in linked))
        before = {key_id: by_id[key_id].failure for key_id in results}
        now = self.clock.now()
        decision = decide(results, before, now, self.policy)
        self.metrics.record_decision(decision)
        changed = decision.changed(before)
        for key_id, result in results.items():
            if key_id in changed or result is CheckResult.VALID:
                await store.save_failure_state(
                    key_id,
                    decision.states[key_id],
                    validated_at=now if result is CheckResult.VALID else None,
                )
        if decision.outage:
            log.warning(
                "Key revalidation: %d of %d keys answered invalid at once; treating it as a GW2 "
                "API outage and marking none",
                decision.counts[CheckResult.INVALID_KEY],
                len(results),
            )
        for key_id in decision.notify:
            await self._tell_key_invalid(by_id[key_id])
        log.info(
            "Key revalidation: %d checked, %d valid, %d invalid, %d unanswered, %d marked invalid",
            len(results),
            decision.counts[CheckResult.VALID],
            decision.counts[CheckResult.INVALID_KEY],
            decision.counts[CheckResult.TRANSIENT_ERROR],
            len(decision.mark_invalid),
        )
        return decision

    def next_revalidation_delay(self) -> float:
        """The wait before the next cycle: the interval ± ``REVALIDATION_JITTER``."""
        spread = self.revalidation_interval_s * REVALIDATION_JITTER
        return max(1.0, self.revalidation_interval_s + self._rng.uniform(-spread, spread))

    async def _pause(self, seconds: float) -> None:
        # Real time on purpose: the schedule is hours long and tests call ``revalidate_all``
        # directly (the injected test clocks advance on every sleep, which would spin this loop).
        await asyncio.sleep(seconds)

    async def _revalidation_loop(self) -> None:
        await self.bot.wait_until_ready()
        while not self.bot.is_closed():
            await self._pause(self.next_revalidation_delay())
            try:
                await self.revalidate_all()
            except Exception:
                log.exception("Key revalidation cycle failed")
                self.bot.services.metrics.errors.labels(where="key_revalidation").inc()

    async def _check_stored_key(self, key: str) -> CheckResult:
        try:
            info = await self.bot.services.gw2.tokeninfo(key, refresh=True)
        except InvalidKeyError:
            return CheckResult.INVALID_KEY
        except GW2APIError:
            return CheckResult.TRANSIENT_ERROR
        return CheckResult.TRANSIENT_ERROR if info.stale else CheckResult.VALID

    async def _tell_key_invalid(self, linked: LinkedKey) -> None:
        try:
            user = self.bot.get_user(linked.user_id) or await self.bot.fetch_user(linked.user_id)
            await user.send(render.invalid_key_notice(linked.account_name))
        except discord.HTTPException as error:
            log.info(
                "Could not tell user %d their key is invalid (HTTP %s)",
                linked.user_id,
                error.status,
            )

    # Helpers -----------------------------------------------------------------------------------

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


class PasteKeyView(discord.ui.View):
    """The "Paste key privately" button (persistent: it works after a restart too)."""

    def __init__(self, cog: AccountCog) -> None:
        super().__init__(timeout=None)
        self.cog = cog

    @discord.ui.button(
        label="Paste key privately", style=discord.ButtonStyle.primary, custom_id=PASTE_BUTTON_ID
    )
    async def paste(
        self, interaction: discord.Interaction[GW2Bot], _button: discord.ui.Button[PasteKeyView]
    ) -> None:
        if self.cog.pending_link(interaction.user.id) is None:
            self.cog.start_pending_link(interaction.user.id, "optional")
        await interaction.response.send_modal(PasteKeyModal(self.cog))


class PasteKeyModal(discord.ui.Modal, title="Link your GW2 API key"):
    """The DM-less way to hand over a key: a private text input."""

    api_key: discord.ui.TextInput[PasteKeyModal] = discord.ui.TextInput(
        label="API key",
        custom_id="key",
        placeholder="XXXXXXXX-XXXX-…",
        min_length=20,
        max_length=4000,
    )

    def __init__(self, cog: AccountCog) -> None:
        super().__init__(custom_id=PASTE_MODAL_ID)
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        parsed = parse_key(self.api_key.value)
        if parsed is None:
            self.cog.metrics.link_attempt("invalid_format")
            await interaction.response.send_message(FORMAT_HELP, ephemeral=True)
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
        await self.cog.bot.answer_interaction_error(
            interaction, error, where="component", name="key modal"
        )


class CharacterPagesView(discord.ui.View):
    """Previous/next buttons over ``/characters`` pages, for the user who asked."""

    def __init__(self, pages: list[discord.Embed], *, owner_id: int) -> None:
        super().__init__(timeout=600)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
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

    EXPIRED = "These pages expired. Run `/characters` again to see your characters."

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="◀ Previous", custom_id="gw2opt:chars:prev")
    async def previous(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content=self.EXPIRED, view=None)

    @discord.ui.button(label="Next ▶", custom_id="gw2opt:chars:next")
    async def next(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content=self.EXPIRED, view=None)


async def _send_quietly(
    channel: Any,
    *,
    content: str | None = None,
    embed: discord.Embed | None = None,
    allowed_mentions: discord.AllowedMentions | None = None,
) -> None:
    """Post in ``channel``; a failure (closed DMs, missing permission) is logged, not raised."""
    kwargs: dict[str, Any] = {}
    if embed is not None:
        kwargs["embed"] = embed
    if allowed_mentions is not None:
        kwargs["allowed_mentions"] = allowed_mentions
    try:
        await channel.send(content, **kwargs)
    except discord.HTTPException as error:
        log.info("Could not post a key-linking message (HTTP %s)", error.status)


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(AccountCog(bot))

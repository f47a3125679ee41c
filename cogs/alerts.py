"""``/alerts``: live WvW alerts (objective flips, claims, upgrades, reset and skirmish reminders).

Every subcommand needs Manage Server, checked at run time as in ``/settings``. A server has up
to ``MAX_ALERTS_PER_GUILD`` subscriptions (one per channel and team). The poll loop lives here
too (started when the cog loads, stopped when it unloads); one poll is
:class:`cogs.alerts_poller.AlertPoller`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import permission_names
from bot.sentry import capture_exception
from bot.storage.alerts import EVENTS_KEPT_HOURS, AlertLimitError
from bot.storage.leases import JobLeases, new_owner
from bot.tracing import cycle_transaction
from cogs.alerts_poller import AlertPoller, PollReport
from cogs.alerts_render import SCOPE_WORDS, render_alert_list
from cogs.common.checks import manage_server
from cogs.common.formatting import map_name, objective_type_name
from cogs.common.locale import user_locale
from cogs.team_options import resolve_team_option, team_autocomplete
from services.alerts import ALERT_OBJECTIVE_TYPES, MAP_TYPES, AlertFilter, AlertMetrics
from services.errors import UserFacingError
from services.i18n import tr
from services.teams import team_name

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

MAX_ALERTS_PER_GUILD = 10
POLL_SECONDS = 30.0
PURGE_EVERY_POLLS = 120
PERMISSIONS = ("view_channel", "send_messages")
TYPE_WORDS = {t.lower(): t for t in ALERT_OBJECTIVE_TYPES}
MAP_WORDS = {
    "eb": "Center",
    "ebg": "Center",
    "eternal": "Center",
    "center": "Center",
    "red": "RedHome",
    "blue": "BlueHome",
    "green": "GreenHome",
}


ALERTS_JOB = "alerts"  # the job lease one cluster process holds to poll


@app_commands.guild_only()
class Alerts(commands.GroupCog, group_name="alerts"):
    """Live WvW alerts in a channel (Manage Server)."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.repository = bot.services.alerts
        self.metrics = bot.services.metric_set(AlertMetrics)
        self.poller = AlertPoller(bot, self.repository, self.metrics, bot.services.discord_pacer)
        self.poll_seconds = POLL_SECONDS
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._polls = 0
        # Cluster mode: one process polls at a time (the holder of the "alerts" job lease, which
        # it renews every poll); another takes over once a holder that died lets it run out.
        self.leases = JobLeases(bot.services.db)
        self._owner = new_owner("alerts")
        self._lease = timedelta(seconds=bot.services.settings.database.lease_seconds)
        super().__init__()

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alert-poll-loop")

    async def cog_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.poller.drain()

    def wake(self) -> None:
        self._wake.set()

    # Commands --------------------------------------------------------------------------------

    @app_commands.command(name="set")
    @app_commands.describe(
        channel="Where to post the alerts",
        team="Team to follow (default: the server's default team)",
        scope="ours: objectives our team holds, takes or loses (default) · match: every one",
        types="Objective types, e.g. 'keep, castle' (default: camp, tower, keep, castle)",
        maps="Maps, e.g. 'eb, red' — eb, red, blue, green (default: all four)",
        role="Role to mention when we lose a keep, garrison or castle (nothing else pings)",
        reminders="Reset in 1 h and 10 min, skirmish ending in 5 min (default: on)",
    )
    @app_commands.autocomplete(team=team_autocomplete)
    @manage_server
    async def set_alerts(
        self,
        interaction: discord.Interaction[GW2Bot],
        channel: discord.TextChannel,
        team: str | None = None,
        scope: Literal["ours", "match"] = "ours",
        types: str | None = None,
        maps: str | None = None,
        role: discord.Role | None = None,
        reminders: bool = True,
    ) -> None:
        """Post live WvW alerts in a channel (Manage Server)."""
        guild = _guild(interaction)
        locale = user_locale(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = guild.get_channel(channel.id)
        if not isinstance(target, discord.TextChannel):
            raise UserFacingError(
                "I can't find that channel. Pick a text channel I can see, then try again."
            )
        permissions = target.permissions_for(guild.me)
        missing = [name for name in PERMISSIONS if not getattr(permissions, name)]
        if missing:
            raise UserFacingError(
                "I can't post alerts in {channel}: I'm missing {permissions} there. Give my role "
                "that permission in the channel settings, then run this again.",
                channel=target.mention,
                permissions=permission_names(missing, locale),
            )
        alert_filter = AlertFilter(
            scope=scope,
            objective_types=parse_types(types),
            map_types=parse_maps(maps),
            reminders=reminders,
        )
        if role is not None and role.is_default():
            raise UserFacingError("Pick a role to mention, not @everyone.")
        team_id = await self._team_or_default(guild.id, team)
        try:
            _, created = await self.repository.subscribe(
                guild_id=guild.id,
                channel_id=target.id,
                team_id=team_id,
                alert_filter=alert_filter,
                role_id=role.id if role is not None else None,
                created_by=interaction.user.id,
                limit=MAX_ALERTS_PER_GUILD,
            )
        except AlertLimitError:
            raise UserFacingError(
                "This server already has {count} alert subscriptions, the most allowed. Stop one "
                "with `/alerts off` first.",
                count=MAX_ALERTS_PER_GUILD,
            ) from None
        self.wake()
        name = team_name(team_id) or tr(locale, "team {id}", id=team_id)
        what = ", ".join(
            sorted(
                objective_type_name(t, locale=locale).lower() for t in alert_filter.objective_types
            )
        )
        where = ", ".join(map_name(m, locale) for m in MAP_TYPES if m in alert_filter.map_types)
        ping = (
            " "
            + tr(locale, "{role} is mentioned when we lose a keep or castle.", role=role.mention)
            if role
            else ""
        )
        if role and not role.mentionable and not target.permissions_for(guild.me).mention_everyone:
            ping += " " + tr(
                locale,
                "That role can't be mentioned by me yet: turn on \"Allow anyone to @mention this "
                'role" in its settings, or the alert arrives without a ping.',
            )
        text = tr(
            locale,
            "Done: {channel} gets live alerts for **{team}** ({scope}: {types} on {maps}; "
            "reminders {reminders}).",
            channel=target.mention,
            team=name,
            scope=tr(locale, SCOPE_WORDS[scope]),
            types=what,
            maps=where,
            reminders=tr(locale, "on") if reminders else tr(locale, "off"),
        )
        start = (
            tr(
                locale,
                "They start with the next change — nothing is posted for what already happened.",
            )
            if created
            else tr(locale, "Changed — nothing is posted for what already happened.")
        )
        await interaction.followup.send(
            f"{text}{ping} {start}",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="off")
    @app_commands.describe(
        channel="The channel that should stop getting alerts",
        team="Only this team's alerts (default: every team's in that channel)",
    )
    @app_commands.autocomplete(team=team_autocomplete)
    @manage_server
    async def alerts_off(
        self,
        interaction: discord.Interaction[GW2Bot],
        channel: discord.TextChannel,
        team: str | None = None,
    ) -> None:
        """Stop live WvW alerts in a channel (Manage Server)."""
        guild = _guild(interaction)
        locale = user_locale(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        team_id = await resolve_team_option(self.bot, team) if team and team.strip() else None
        removed = await self.repository.unsubscribe(guild.id, channel.id, team_id)
        if removed:
            text = tr(locale, "Stopped the WvW alerts in {channel}.", channel=channel.mention)
        else:
            text = tr(
                locale,
                "{channel} gets no such WvW alerts, so there is nothing to stop. "
                "`/alerts show` lists the ones that exist.",
                channel=channel.mention,
            )
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="show")
    @manage_server
    async def show(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """The server's live alert subscriptions (Manage Server)."""
        guild = _guild(interaction)
        subscriptions = await self.repository.for_guild(guild.id)
        embed = render_alert_list(
            subscriptions,
            guild_name=guild.name,
            limit=MAX_ALERTS_PER_GUILD,
            locale=user_locale(interaction),
        )
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    # The loop --------------------------------------------------------------------------------

    async def poll(self) -> PollReport:
        """One poll now (tests and the benchmark drive it; the loop calls it on its own)."""
        now = self.bot.services.clock.now()
        lease_until = now + max(self._lease, timedelta(seconds=3 * self.poll_seconds))
        if not await self.leases.acquire(ALERTS_JOB, self._owner, now, lease_until):
            return PollReport(0, 0, 0, {}, 0.0)  # another process polls
        report = await self.poller.poll()
        self._polls += 1
        if self._polls % PURGE_EVERY_POLLS == 0:
            now = self.bot.services.clock.now()
            await self.repository.purge_events(now - timedelta(hours=EVENTS_KEPT_HOURS))
        return report

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            self._wake.clear()
            try:
                with cycle_transaction("live alerts"):
                    await self.poll()
            except Exception as error:
                log.error("Alert poll failed", exc_info=(type(error), error, error.__traceback__))
                self.metrics.polls.labels(outcome="error").inc()
                self.bot.services.metrics.errors.labels(where="alert_loop").inc()
                capture_exception(error, where="alert_loop")
            await self._sleep()

    async def _sleep(self) -> None:
        waiters: list[asyncio.Task[object]] = [
            asyncio.create_task(self._wake.wait()),
            asyncio.create_task(self.bot.services.clock.sleep(self.poll_seconds)),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _team_or_default(self, guild_id: int, team: str | None) -> int:
        if team is not None and team.strip():
            return await resolve_team_option(self.bot, team)
        settings = await self.bot.services.guild_settings.get(guild_id)
        if settings.default_team_id is None:
            raise UserFacingError(
                "Pick a team with the `team` option, or set the server's default team with "
                "`/settings team` first."
            )
        return settings.default_team_id


def parse_types(text: str | None) -> frozenset[str]:
    """``"keep, castle"`` → ``{"Keep", "Castle"}``; empty or ``all`` → every type."""
    return _parse(text, TYPE_WORDS, ALERT_OBJECTIVE_TYPES, "types", "camp, tower, keep, castle")


def parse_maps(text: str | None) -> frozenset[str]:
    """``"eb, red"`` → ``{"Center", "RedHome"}``; empty or ``all`` → every map."""
    return _parse(text, MAP_WORDS, MAP_TYPES, "maps", "eb, red, blue, green")


def _parse(
    text: str | None,
    words: dict[str, str],
    everything: Iterable[str],
    option: str,
    accepted: str,
) -> frozenset[str]:
    parts = [p.strip().lower() for p in (text or "").replace(";", ",").split(",")]
    parts = [p.removesuffix("s") if p.removesuffix("s") in words else p for p in parts if p]
    if not parts or parts == ["all"]:
        return frozenset(everything)
    unknown = [p for p in parts if p not in words]
    if unknown:
        shown = discord.utils.escape_markdown(", ".join(unknown))[:100]
        raise UserFacingError(
            "I don't know {value} in `{option}`. Use a comma-separated list of: {accepted}.",
            value=repr(shown),
            option=option,
            accepted=accepted,
        )
    return frozenset(words[p] for p in parts)


def _guild(interaction: discord.Interaction[GW2Bot]) -> discord.Guild:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Alerts(bot))

"""``/roles``: Discord roles that follow members' linked GW2 accounts (verified roles).

Rules ("role ← condition") are per server; every subcommand needs Manage Server (checked at run
time, like ``/settings``). The sync runs at once for a member whose key changed (the
``gw2_key_changed`` event the account cogs dispatch) and for a server whose rules changed, and
for everyone on a schedule (``services.roles.sync_period``). No privileged intent is needed: the
bot syncs the linked users it knows are members (seen in an interaction, or found by fetching
them by id); strict mode, which also strips managed roles from members who never linked, needs
the Server Members intent and is only available when ``ROLES_STRICT_MODE_ENABLED`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.locale import user_locale
from cogs.team_options import resolve_team_option, team_autocomplete
from services.errors import UserFacingError
from services.gw2 import GW2APIError, NotFoundError
from services.gw2.models import Guild
from services.i18n import tr
from services.keys import CheckResult, is_outage
from services.roles import (
    ConditionKind,
    RoleRule,
    SyncReport,
    check_new_rule,
    needs_of,
    plan_change,
    standing_in,
)
from services.secrets import mask_keys
from services.teams import team_name

from . import roles_render as render
from .common.checks import manage_server
from .common.key_policy import requires_ownership
from .roles_directory import can_manage_role
from .roles_sync import RoleSyncRunner, Sleep

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

GUILD_ID = re.compile(
    r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$", re.IGNORECASE
)
Condition = Literal["verified", "wvw_guild", "guild_member", "wvw_team"]


@app_commands.guild_only()
class Roles(commands.GroupCog, group_name="roles"):
    """Verified roles: roles that follow members' linked GW2 accounts."""

    def __init__(self, bot: GW2Bot, *, sleep: Sleep = asyncio.sleep) -> None:
        self.bot = bot
        self.runner = RoleSyncRunner(bot, sleep=sleep)
        self.store = self.runner.store
        self.directory = self.runner.directory
        self.source = self.runner.source
        self._guild_labels: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        super().__init__()

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self.runner.run_schedule(), name="role-sync")

    async def cog_unload(self) -> None:
        tasks = [t for t in (self._task, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # /roles ------------------------------------------------------------------------------------

    @app_commands.command(name="add")
    @app_commands.describe(
        role="The role to give",
        condition="Who gets it",
        value="The guild (name, tag or id) or WvW team, for conditions that need one",
        requires="Give it only to members who also get this managed role",
    )
    @app_commands.choices(
        condition=[
            app_commands.Choice(name="verified (linked a valid key)", value="verified"),
            app_commands.Choice(name="WvW guild is …", value="wvw_guild"),
            app_commands.Choice(name="member of guild …", value="guild_member"),
            app_commands.Choice(name="WvW team is …", value="wvw_team"),
        ]
    )
    @manage_server
    async def add(
        self,
        interaction: discord.Interaction[GW2Bot],
        role: discord.Role,
        condition: Condition,
        value: str | None = None,
        requires: discord.Role | None = None,
    ) -> None:
        """Add a rule: give a role to members whose linked account meets a condition."""
        guild = _guild(interaction)
        locale = user_locale(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        for checked in (role, requires):
            if checked is not None and not can_manage_role(guild, checked):
                raise UserFacingError(render.HIERARCHY_ONE, roles=f"<@&{checked.id}>")
        kind = ConditionKind(condition)
        rule_value, label = await self._resolve_value(kind, value, locale)
        existing = await self.store.rules(guild.id)
        new = RoleRule(0, role.id, kind, rule_value, label, requires.id if requires else None)
        problem = check_new_rule(existing, new)
        if problem is not None:
            raise UserFacingError(problem.id, **problem.params)
        rule = await self.store.add_rule(
            guild.id, new, created_by=interaction.user.id, now=self.bot.services.clock.now()
        )
        await self._rules_changed(guild.id)
        await interaction.followup.send(
            tr(
                locale,
                "Added {rule}. I'm syncing this server's linked members now.",
                rule=render.rule_line(rule, locale),
            ),
            ephemeral=True,
        )

    @add.autocomplete("value")
    async def _value_autocomplete(
        self, interaction: discord.Interaction[GW2Bot], current: str
    ) -> list[app_commands.Choice[str]]:
        condition = getattr(interaction.namespace, "condition", None)
        if condition == "wvw_team":
            return await team_autocomplete(interaction, current)
        if condition not in ("wvw_guild", "guild_member") or interaction.guild_id is None:
            return []
        return await self._guild_choices(interaction.guild_id, current)

    @app_commands.command(name="remove")
    @app_commands.describe(rule="The rule to remove (its number in /roles show)")
    @manage_server
    async def remove(self, interaction: discord.Interaction[GW2Bot], rule: int) -> None:
        """Remove a rule; members keep the role, which the bot stops managing."""
        guild = _guild(interaction)
        removed = await self.store.remove_rule(guild.id, rule)
        if removed is None:
            raise UserFacingError(
                "This server has no rule #{number}. /roles show lists them.", number=rule
            )
        await self._rules_changed(guild.id)
        locale = user_locale(interaction)
        await interaction.response.send_message(
            tr(
                locale,
                "Removed {rule}. Members keep the role; I no longer give or take it for this rule.",
                rule=render.rule_line(removed, locale),
            ),
            ephemeral=True,
        )

    @remove.autocomplete("rule")
    async def _rule_autocomplete(
        self, interaction: discord.Interaction[GW2Bot], current: str
    ) -> list[app_commands.Choice[int]]:
        if interaction.guild is None:
            return []
        names = {r.id: r.name for r in interaction.guild.roles}
        locale = user_locale(interaction)
        choices = []
        for rule in await self.store.rules(interaction.guild.id):
            text = render.rule_choice(rule, names, locale)
            if current.lower() in text.lower():
                choices.append(app_commands.Choice(name=text, value=rule.id))
        return choices[:25]

    @app_commands.command(name="show")
    @manage_server
    async def show(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """This server's role rules and options."""
        guild = _guild(interaction)
        rules = await self.store.rules(guild.id)
        options = await self.store.options(guild.id)
        embed = render.rules_embed(
            rules,
            guild_name=guild.name,
            unmanageable=self.directory.unmanageable(guild.id),
            nickname_suffix=options.nickname_suffix,
            strict=options.strict,
            locale=user_locale(interaction),
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="preview")
    @manage_server
    async def preview(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Who would gain and lose which roles now (changes nothing)."""
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        rules = await self.store.rules(guild.id)
        if not rules:
            raise UserFacingError(render.NO_RULES)
        unmanageable = self.directory.unmanageable(guild.id)
        needs = needs_of(rules)
        lines: list[render.PreviewLine] = []
        answers: dict[int, CheckResult] = {}
        members = await self.store.members_of(guild.id)
        unknown = 0
        required = await requires_ownership(self.bot, guild.id)
        for user_id in members[: render.PREVIEW_LIMIT * 5]:
            standing, answer = await self.source.standing(user_id, needs)
            standing = standing_in(standing, ownership_required=required)
            if answer is not None:
                answers[user_id] = answer
            if not standing.certain:
                unknown += 1
                continue
            try:
                view = await self.directory.member(guild.id, user_id)
            except (LookupError, discord.HTTPException):
                unknown += 1
                continue
            if view is None:
                continue
            change = plan_change(rules, standing, view.role_ids, unmanageable=unmanageable)
            lines.append(render.PreviewLine(user_id, change.add, change.remove))
        managed = {rule.role_id for rule in rules}
        text = render.preview_text(
            lines,
            checked=len(members),
            unknown=unknown,
            unmanageable=sorted(managed & unmanageable),
            outage=is_outage(answers),
            locale=user_locale(interaction),
        )
        await interaction.followup.send(text[:2000], ephemeral=True)

    @app_commands.command(name="sync")
    @manage_server
    async def sync(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Sync this server's linked members now."""
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not await self.store.rules(guild.id):
            raise UserFacingError(render.NO_RULES)
        report, members = await self.runner.sync_guild(guild.id, force_read=True)
        await interaction.followup.send(
            render.sync_summary(report, members=members, locale=user_locale(interaction)),
            ephemeral=True,
        )

    @app_commands.command(name="options")
    @app_commands.describe(
        nickname_suffix="Add “| Account.1234” to verified members' nicknames",
        strict="Also remove managed roles from members who never linked a key",
    )
    @manage_server
    async def options(
        self,
        interaction: discord.Interaction[GW2Bot],
        nickname_suffix: bool | None = None,
        strict: bool | None = None,
    ) -> None:
        """Turn the nickname suffix or strict mode on or off."""
        guild = _guild(interaction)
        if strict and not self.bot.intents.members:
            raise UserFacingError(
                "Strict mode needs the Server Members intent, which this bot runs without. The "
                "bot's operator can enable it with ROLES_STRICT_MODE_ENABLED (see the README)."
            )
        if nickname_suffix is not None:
            await self.store.set_option(guild.id, "nickname_suffix", nickname_suffix)
        if strict is not None:
            await self.store.set_option(guild.id, "strict", strict)
        await self._rules_changed(guild.id)
        options = await self.store.options(guild.id)
        locale = user_locale(interaction)
        await interaction.response.send_message(
            tr(
                locale,
                "Nickname suffix: **{suffix}** · strict mode: **{strict}**.",
                suffix=tr(locale, "on") if options.nickname_suffix else tr(locale, "off"),
                strict=tr(locale, "on") if options.strict else tr(locale, "off"),
            ),
            ephemeral=True,
        )

    # Events ------------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_gw2_key_changed(self, user_id: int) -> None:
        """A key was linked, removed or switched: sync that user in every server with rules."""
        await self.runner.key_changed(user_id)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """A member who uses any command in a server with rules is known to be there."""
        # Not while shutting down: the database may already be closing under this listener.
        if interaction.guild_id is not None and not self.bot.is_closed():
            await self.runner.seen(interaction.guild_id, interaction.user.id)

    async def sync_all(self) -> SyncReport:
        """One pass over everyone, at once (the schedule spreads it over the period)."""
        report: SyncReport = await self.runner.sync_all()
        return report

    async def _rules_changed(self, guild_id: int) -> None:
        self.runner.rules_changed(guild_id)
        task = asyncio.create_task(self._sync_quietly(guild_id), name=f"role-sync-{guild_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _sync_quietly(self, guild_id: int) -> None:
        try:
            await self.runner.sync_guild(guild_id)
        except Exception:
            log.exception("Role sync after a rule change failed")

    # Values ------------------------------------------------------------------------------------

    async def _resolve_value(
        self, kind: ConditionKind, value: str | None, locale: str = "en"
    ) -> tuple[str, str]:
        if kind is ConditionKind.VERIFIED:
            return "", ""
        if not value or not value.strip():
            raise UserFacingError(
                "This condition needs a value: pick a team or a guild from the list as you type."
            )
        text = value.strip()
        if kind is ConditionKind.WVW_TEAM:
            team_id = await resolve_team_option(self.bot, text)
            return str(team_id), team_name(team_id) or tr(locale, "team {id}", id=team_id)
        if not GUILD_ID.match(text):
            wanted = text.lower()
            found = [
                gid
                for gid, label in self._guild_labels.items()
                if wanted in (label.lower(), _name_of(label).lower(), _tag_of(label).lower())
            ]
            if len(found) != 1:
                shown = discord.utils.escape_markdown(mask_keys(text)[:60])
                raise UserFacingError(
                    "I don't know a guild called “{name}” among linked members. Pick one from "
                    "the list, or paste the guild id.",
                    name=shown,
                )
            text = found[0]
        try:
            guild = (await self.bot.services.gw2.guild(text)).value
        except NotFoundError:
            raise UserFacingError("The GW2 API knows no guild with that id.") from None
        except GW2APIError as error:
            raise UserFacingError(str(error)) from None
        label = _label_of(guild)
        self._guild_labels[guild.id.upper()] = label
        return guild.id.upper(), label

    async def _guild_choices(self, guild_id: int, current: str) -> list[app_commands.Choice[str]]:
        candidates: set[str] = set()
        for user_id in await self.store.members_of(guild_id):
            facts = self.source.last_facts.get(user_id)
            if facts is None:
                continue
            candidates.update(g.upper() for g in facts.guilds or ())
            if facts.wvw_guild:
                candidates.add(facts.wvw_guild.upper())
        missing = [g for g in sorted(candidates) if g not in self._guild_labels][:10]

        async def label(gid: str) -> None:
            with contextlib.suppress(GW2APIError):
                guild = (await self.bot.services.gw2.guild(gid, budget=1.5)).value
                self._guild_labels[gid] = _label_of(guild)

        await asyncio.gather(*(label(g) for g in missing))
        wanted = current.strip().lower()
        labels = {gid: self._guild_labels.get(gid) or gid for gid in candidates}
        choices = [
            app_commands.Choice(name=label[:100], value=gid)
            for gid, label in sorted(labels.items(), key=lambda item: item[1].lower())
            if wanted in label.lower() or wanted in gid.lower()
        ]
        return choices[:25]


def _label_of(guild: Guild) -> str:
    """``Name [TAG]`` (read back by :func:`_name_of` and :func:`_tag_of`)."""
    return f"{guild.name} [{guild.tag}]" if guild.tag else guild.name


def _name_of(label: str) -> str:
    return label.rsplit(" [", 1)[0] if label.endswith("]") else label


def _tag_of(label: str) -> str:
    return label[label.rfind("[") + 1 : -1] if label.endswith("]") and "[" in label else ""


def _guild(interaction: discord.Interaction[GW2Bot]) -> discord.Guild:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Roles(bot))

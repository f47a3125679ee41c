"""Member routes of the fake Discord: roles and nicknames, with Discord's permission checks.

Hooked into :class:`tests.fakes.discord.FakeDiscord` by one line in its route table
(``*member_routes(self)``). What it models:

- ``PUT`` / ``DELETE /guilds/{g}/members/{u}/roles/{r}`` → 204. Needs Manage Roles (403/50013),
  a role below the bot's highest role and not managed by an integration (403/50013), a known
  role (404/10011) and member (404/10007).
- ``PATCH /guilds/{g}/members/{u}`` with ``nick`` → the member. Needs Manage Nicknames; never the
  server owner, never a member whose highest role is at or above the bot's (403/50013).
- Every change is kept in ``member_changes(fake)`` with its ``X-Audit-Log-Reason`` (decoded), and
  dispatched as GUILD_MEMBER_UPDATE to sessions with the members intent, like Discord.

Helpers for tests: ``place_bot_role_on_top(guild)``, ``member_changes(fake)``,
``role_requests(fake)`` (recorded PUT/DELETE role requests).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from aiohttp import web

from tests.fakes.discord_payloads import (
    INTENT_MEMBERS,
    JSON,
    FakeGuild,
    FakeMember,
    FakeRole,
    compute_permissions,
)

if TYPE_CHECKING:
    from tests.fakes.discord import FakeDiscord, RecordedRequest

MANAGE_ROLES = discord.Permissions(manage_roles=True).value
MANAGE_NICKNAMES = discord.Permissions(manage_nicknames=True).value

Route = tuple[str, str, Callable[..., Awaitable[web.Response]], bool]


@dataclass(frozen=True)
class MemberChange:
    """One accepted change: ``action`` is ``add_role``, ``remove_role`` or ``nick``."""

    guild_id: int
    user_id: int
    action: str
    value: str  # the role id, or the new nickname
    reason: str | None


class MemberRouteError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def member_routes(fake: FakeDiscord) -> list[Route]:
    """The route table entries (method, path regex, handler, needs auth)."""
    routes = _MemberRoutes(fake)
    role_path = r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)/roles/(?P<role_id>\d+)"
    return [
        ("PUT", role_path, routes.add_role, True),
        ("DELETE", role_path, routes.remove_role, True),
        ("PATCH", r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)", routes.edit, True),
    ]


def member_changes(fake: FakeDiscord) -> list[MemberChange]:
    changes: list[MemberChange] = fake.__dict__.setdefault("member_changes", [])
    return changes


def role_requests(fake: FakeDiscord) -> list[RecordedRequest]:
    """Every recorded PUT/DELETE of a member role (refused ones too)."""
    return [r for r in fake.requests if r.method in ("PUT", "DELETE") and "/roles/" in r.path]


def place_bot_role_on_top(guild: FakeGuild) -> None:
    """Move the bot's role above every other role (Discord's "drag the bot's role up")."""
    bot_role = next(r for r in guild.roles.values() if r.bot_id is not None)
    bot_role.position = max(r.position for r in guild.roles.values()) + 1


def top_position(member: FakeMember) -> tuple[int, int]:
    """The member's highest role as Discord orders roles: position, then the older role first."""
    return max((rank(r) for r in member.roles), default=(0, 0))


def rank(role: FakeRole) -> tuple[int, int]:
    return (role.position, -role.id)


class _MemberRoutes:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    async def add_role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str
    ) -> web.Response:
        return await self._role(record, guild_id, user_id, role_id, add=True)

    async def remove_role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str
    ) -> web.Response:
        return await self._role(record, guild_id, user_id, role_id, add=False)

    async def edit(self, record: RecordedRequest, guild_id: str, user_id: str) -> web.Response:
        try:
            guild, member, bot = self._context(guild_id, user_id)
            body = record.json if isinstance(record.json, dict) else {}
            if "nick" not in body:
                raise MemberRouteError(400, 50035, "Invalid Form Body (only nick is modelled)")
            if not compute_permissions(guild, bot) & MANAGE_NICKNAMES:
                raise MemberRouteError(403, 50013, "Missing Permissions")
            if member.user.id == guild.owner_id or top_position(member) >= top_position(bot):
                raise MemberRouteError(403, 50013, "Missing Permissions")
        except MemberRouteError as error:
            return _error(error)
        member.nick = body["nick"] or None
        await self._changed(record, guild, member, "nick", member.nick or "")
        return _json(200, member.to_payload())

    async def _role(
        self, record: RecordedRequest, guild_id: str, user_id: str, role_id: str, *, add: bool
    ) -> web.Response:
        try:
            guild, member, bot = self._context(guild_id, user_id)
            role = guild.roles.get(int(role_id))
            if role is None:
                raise MemberRouteError(404, 10011, "Unknown Role")
            if not compute_permissions(guild, bot) & MANAGE_ROLES:
                raise MemberRouteError(403, 50013, "Missing Permissions")
            if role.managed or role.id == guild.id or rank(role) >= top_position(bot):
                raise MemberRouteError(403, 50013, "Missing Permissions")
        except MemberRouteError as error:
            return _error(error)
        has = any(r.id == role.id for r in member.roles)
        if add and not has:
            member.roles.append(role)
        elif not add and has:
            member.roles = [r for r in member.roles if r.id != role.id]
        await self._changed(
            record, guild, member, "add_role" if add else "remove_role", str(role.id)
        )
        return web.Response(status=204)

    def _context(self, guild_id: str, user_id: str) -> tuple[FakeGuild, FakeMember, FakeMember]:
        guild = self.fake.guilds.get(int(guild_id))
        if guild is None or guild.removed:
            raise MemberRouteError(404, 10004, "Unknown Guild")
        member = guild.get_member(int(user_id))
        bot = guild.get_member(self.fake.bot_user.id)
        if bot is None:
            raise MemberRouteError(403, 50001, "Missing Access")
        if member is None:
            raise MemberRouteError(404, 10007, "Unknown Member")
        return guild, member, bot

    async def _changed(
        self,
        record: RecordedRequest,
        guild: FakeGuild,
        member: FakeMember,
        action: str,
        value: str,
    ) -> None:
        raw = record.headers.get("X-Audit-Log-Reason")
        reason = urllib.parse.unquote(raw) if raw is not None else None
        member_changes(self.fake).append(MemberChange(guild.id, member.id, action, value, reason))
        payload: JSON = member.to_payload() | {"guild_id": str(guild.id)}
        await self.fake._dispatch_filtered("GUILD_MEMBER_UPDATE", payload, INTENT_MEMBERS)


def roles_of(guild: FakeGuild, user_id: int) -> set[int]:
    member = guild.get_member(user_id)
    return {r.id for r in member.roles} if member else set()


def has_role(guild: FakeGuild, user_id: int, role: FakeRole) -> bool:
    return role.id in roles_of(guild, user_id)


def _json(status: int, payload: JSON) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


def _error(error: MemberRouteError) -> web.Response:
    return _json(error.status, {"message": error.message, "code": error.code})

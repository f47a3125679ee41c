"""Verified-role rules, options and known members per server (``migrations/0004_roles.sql``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from services.roles import ConditionKind, GuildRules, RoleRule, needs_of

from .database import Database, db_time


@dataclass(frozen=True, slots=True)
class RoleOptions:
    guild_id: int
    nickname_suffix: bool = False
    strict: bool = False


class RoleRuleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # rules -------------------------------------------------------------------------------------

    async def rules(self, guild_id: int) -> list[RoleRule]:
        rows = await self.db.fetchall(
            "SELECT id, role_id, kind, value, label, requires_role_id FROM role_rules "
            "WHERE guild_id = ? ORDER BY id",
            (guild_id,),
        )
        return [_rule(row) for row in rows]

    async def add_rule(
        self, guild_id: int, rule: RoleRule, *, created_by: int, now: datetime
    ) -> RoleRule:
        async with self.db.transaction() as tx:
            rule_id = await tx.insert(
                "INSERT INTO role_rules (guild_id, role_id, kind, value, label, requires_role_id, "
                "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    rule.role_id,
                    str(rule.kind),
                    rule.value,
                    rule.label,
                    rule.requires_role_id,
                    created_by,
                    db_time(now),
                ),
            )
        return RoleRule(
            rule_id, rule.role_id, rule.kind, rule.value, rule.label, rule.requires_role_id
        )

    async def remove_rule(self, guild_id: int, rule_id: int) -> RoleRule | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT id, role_id, kind, value, label, requires_role_id FROM role_rules "
                "WHERE guild_id = ? AND id = ?",
                (guild_id, rule_id),
            )
            if row is None:
                return None
            await tx.execute("DELETE FROM role_rules WHERE id = ?", (rule_id,))
        return _rule(row)

    async def all_guild_rules(self) -> dict[int, GuildRules]:
        """Every server with rules, with its options (what a sync pass reads once)."""
        rows = await self.db.fetchall(
            "SELECT guild_id, id, role_id, kind, value, label, requires_role_id FROM role_rules "
            "ORDER BY guild_id, id"
        )
        by_guild: dict[int, list[RoleRule]] = {}
        for row in rows:
            by_guild.setdefault(row["guild_id"], []).append(_rule(row))
        options = {
            row["guild_id"]: row
            for row in await self.db.fetchall(
                "SELECT guild_id, nickname_suffix, strict FROM role_options"
            )
        }
        result: dict[int, GuildRules] = {}
        for guild_id, rules in by_guild.items():
            option = options.get(guild_id)
            result[guild_id] = GuildRules(
                guild_id,
                tuple(rules),
                nickname_suffix=bool(option["nickname_suffix"]) if option else False,
                strict=bool(option["strict"]) if option else False,
                needs=needs_of(rules),
            )
        return result

    # options -----------------------------------------------------------------------------------

    async def options(self, guild_id: int) -> RoleOptions:
        row = await self.db.fetchone(
            "SELECT nickname_suffix, strict FROM role_options WHERE guild_id = ?", (guild_id,)
        )
        if row is None:
            return RoleOptions(guild_id)
        return RoleOptions(guild_id, bool(row["nickname_suffix"]), bool(row["strict"]))

    async def set_option(self, guild_id: int, name: str, enabled: bool) -> None:
        if name not in ("nickname_suffix", "strict"):
            raise ValueError(f"unknown role option {name!r}")
        await self.db.execute(
            f"INSERT INTO role_options (guild_id, {name}) VALUES (?, ?) "  # noqa: S608
            f"ON CONFLICT (guild_id) DO UPDATE SET {name} = excluded.{name}",
            (guild_id, int(enabled)),
        )

    # known members -----------------------------------------------------------------------------

    async def add_members(self, guild_id: int, user_ids: Iterable[int], now: datetime) -> None:
        stamp = db_time(now)
        await self.db.executemany(
            "INSERT INTO role_members (guild_id, user_id, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, user_id) DO UPDATE SET seen_at = excluded.seen_at",
            [(guild_id, user_id, stamp) for user_id in user_ids],
        )

    async def remove_member(self, guild_id: int, user_id: int) -> None:
        await self.db.execute(
            "DELETE FROM role_members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )

    async def guilds_of(self, user_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT guild_id FROM role_members WHERE user_id = ? ORDER BY guild_id", (user_id,)
        )
        return [row["guild_id"] for row in rows]

    async def members_of(self, guild_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT user_id FROM role_members WHERE guild_id = ? ORDER BY user_id", (guild_id,)
        )
        return [row["user_id"] for row in rows]

    async def memberships(self) -> dict[int, list[int]]:
        """user id → server ids, for every known member of a server that has rules."""
        rows = await self.db.fetchall(
            "SELECT m.user_id, m.guild_id FROM role_members m "
            "WHERE EXISTS (SELECT 1 FROM role_rules r WHERE r.guild_id = m.guild_id) "
            "ORDER BY m.user_id, m.guild_id"
        )
        result: dict[int, list[int]] = {}
        for row in rows:
            result.setdefault(row["user_id"], []).append(row["guild_id"])
        return result

    async def linked_user_ids(self) -> list[int]:
        rows = await self.db.fetchall("SELECT DISTINCT user_id FROM linked_keys ORDER BY user_id")
        return [row["user_id"] for row in rows]

    async def forget_guild(self, guild_id: int) -> None:
        async with self.db.transaction() as tx:
            for table in ("role_rules", "role_options", "role_members"):
                await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))  # noqa: S608


def _rule(row: aiosqlite.Row) -> RoleRule:
    return RoleRule(
        id=row["id"],
        role_id=row["role_id"],
        kind=ConditionKind(row["kind"]),
        value=row["value"],
        label=row["label"],
        requires_role_id=row["requires_role_id"],
    )

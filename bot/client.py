"""The Bot class: holds the services built at start-up and hands them to the cogs."""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands
from prometheus_client import CollectorRegistry

from services.clock import Clock
from services.composer import MistralComposer
from services.gw2 import GW2Client
from services.keys import KeyVault
from services.keys.revalidator import KeyRevalidator
from services.matches import MatchService
from services.mistral_status import MistralProbe
from services.updates import RequestPacer, discord_pacer

from . import __version__
from .config import Settings
from .errors import ErrorAnswer, explain, send_error
from .metrics import BotMetrics
from .sentry import capture_exception
from .storage import Database
from .storage.alerts import AlertRepository
from .storage.guilds import GuildSettingsRepository
from .storage.keys import LinkedKey, LinkedKeyStore
from .storage.roles import RoleRuleStore
from .storage.subscriptions import SubscriptionRepository

log = logging.getLogger(__name__)

M = TypeVar("M")

EXTENSIONS: tuple[str, ...] = (
    "cogs.about",
    "cogs.account",
    "cogs.keys",
    "cogs.leak_guard",
    "cogs.key_revalidation",
    "cogs.alerts",
    "cogs.compose",
    "cogs.roles",
    "cogs.settings",
    "cogs.updates",
    "cogs.wvw",
)


@dataclass(slots=True)
class Services:
    """Everything built once per process and shared by the cogs."""

    settings: Settings
    db: Database
    http: aiohttp.ClientSession
    clock: Clock
    registry: CollectorRegistry
    metrics: BotMetrics
    vault: KeyVault
    gw2: GW2Client
    guild_settings: GuildSettingsRepository
    keys: LinkedKeyStore
    subscriptions: SubscriptionRepository
    # Live WvW alert subscriptions, their last seen objective states and events.
    alerts: AlertRepository
    # Verified-role rules, options and the managed roles last seen per member.
    roles: RoleRuleStore
    # Re-checks stored keys (background cycles and every command that uses a key).
    key_checks: KeyRevalidator[LinkedKey]
    # Live matches: fetch, analysis cache, frozen-data flag (used by /wvw, updates, /compose).
    matches: MatchService
    # The Mistral layer of /compose; None when MISTRAL_API_KEY is not set.
    mistral: MistralComposer | None
    # Whether Mistral answers (/about): a cached model-list probe; None without MISTRAL_API_KEY.
    mistral_probe: MistralProbe | None = None
    # Paces every cog's Discord requests under the bot's one global limit (50/s).
    discord_pacer: RequestPacer = field(default_factory=discord_pacer)
    _metric_sets: dict[Callable[[CollectorRegistry], Any], Any] = field(default_factory=dict)

    def metric_set(self, factory: Callable[[CollectorRegistry], M]) -> M:
        """The process's one instance of a metrics class (created on first use).

        Metrics register on the shared registry once; cogs that are reloaded get the same set.
        """
        existing = self._metric_sets.get(factory)
        if existing is None:
            existing = self._metric_sets[factory] = factory(self.registry)
        return cast(M, existing)


class GW2CommandTree(app_commands.CommandTree["GW2Bot"]):
    """Times every command and answers every error in one place."""

    async def interaction_check(self, interaction: discord.Interaction[GW2Bot], /) -> bool:
        interaction.extras["started"] = time.perf_counter()
        return True

    async def on_error(
        self, interaction: discord.Interaction[GW2Bot], error: app_commands.AppCommandError, /
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else "unknown"
        answer = await interaction.client.answer_interaction_error(
            interaction, error, where="app_command", name=command
        )
        interaction.client.observe_command(
            interaction, "user_error" if answer.expected else "error"
        )


# The bot never joins voice; discord.py's warning about missing voice libraries is noise here.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class GW2Bot(commands.Bot):
    """A discord.py bot that knows its settings and services."""

    def __init__(
        self, services: Services, *, extensions: tuple[str, ...] = EXTENSIONS, **options: Any
    ) -> None:
        intents = discord.Intents.default()
        intents.presences = False
        # Only strict verified roles (/roles options strict) need the member list.
        intents.members = services.settings.security.roles_strict_mode_enabled
        intents.typing = False
        # Only the leak guard reads message text; without it the privileged intent is not asked.
        intents.message_content = services.settings.security.leak_guard_enabled
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=GW2CommandTree,
            guild_ready_timeout=services.settings.discord.guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            **options,
        )
        self.services = services
        self.version = __version__
        self.started_monotonic = services.clock.monotonic()
        self._extensions_to_load = extensions
        metrics = services.metrics
        metrics.build_info.info({"version": __version__})
        metrics.gateway_latency.set_function(self._finite_latency)
        metrics.guilds.set_function(lambda: len(self.guilds))

    # Lifecycle ---------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        for extension in self._extensions_to_load:
            await self.load_extension(extension)
        await self.sync_commands()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Sync to the dev guild when configured (instant), else globally."""
        guild_id = self.services.settings.discord.dev_guild_id
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %d", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d global commands", len(synced))
        return synced

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("Connected as %s (%d) to %d guilds", self.user, self.user.id, len(self.guilds))

    async def on_app_command_completion(
        self, interaction: discord.Interaction[GW2Bot], command: object
    ) -> None:
        self.observe_command(interaction, "ok")

    async def answer_interaction_error(
        self,
        interaction: discord.Interaction[Any],
        error: BaseException,
        *,
        where: str,
        name: str,
    ) -> ErrorAnswer:
        """Answer a failed command, button or modal; log, count and report unexpected errors.

        Commands reach this through the tree's ``on_error``; components (buttons, dynamic items,
        modals) call it themselves, since discord.py does not route their errors to the tree.
        """
        answer = explain(error)
        if not answer.expected:
            original = getattr(error, "original", error)
            log.error(
                "%s %s failed (reference %s)",
                where,
                name,
                answer.reference,
                exc_info=(type(original), original, original.__traceback__),
            )
            self.services.metrics.errors.labels(where=where).inc()
            capture_exception(original, where=where, name=name, reference=answer.reference or "")
        await send_error(interaction, answer.message)
        return answer

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.error("Unhandled error in %s", event_method, exc_info=sys.exc_info())
        self.services.metrics.errors.labels(where="event").inc()

    # Helpers -----------------------------------------------------------------------------------

    @property
    def uptime_seconds(self) -> float:
        return self.services.clock.monotonic() - self.started_monotonic

    @property
    def gateway_connected(self) -> bool:
        return self.is_ready() and not self.is_closed() and self.ws is not None and self.ws.open

    def observe_command(self, interaction: discord.Interaction[GW2Bot], outcome: str) -> None:
        if (
            interaction.command is None
            or interaction.type is not discord.InteractionType.application_command
        ):
            return
        name = interaction.command.qualified_name
        self.services.metrics.app_commands.labels(command=name, outcome=outcome).inc()
        started = interaction.extras.get("started")
        if isinstance(started, float):
            self.services.metrics.app_command_seconds.labels(command=name).observe(
                time.perf_counter() - started
            )

    def _finite_latency(self) -> float:
        latency = self.latency
        return latency if math.isfinite(latency) else float("nan")

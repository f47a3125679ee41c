"""The Bot class: holds the services built at start-up and hands them to the cogs."""

from __future__ import annotations

import collections
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import aiohttp
import discord
import discord.gateway
import yarl
from discord import app_commands
from discord.ext import commands
from prometheus_client import CollectorRegistry

from services.clock import Clock
from services.composer import MistralComposer
from services.gw2 import GW2Client
from services.i18n import resolve_locale
from services.keys import KeyVault
from services.keys.revalidator import KeyRevalidator
from services.matches import MatchService
from services.mistral_status import MistralProbe
from services.updates import RequestPacer, discord_pacer

from . import __version__
from .config import Settings
from .errors import ErrorAnswer, explain, send_error
from .metrics import BotMetrics
from .option_guard import refuse_key_in_options
from .sentry import capture_exception
from .shards import IdentifyGate, ShardMonitor
from .storage import Database
from .storage.alerts import AlertRepository
from .storage.guilds import GuildSettingsRepository
from .storage.keys import LinkedKey, LinkedKeyStore
from .storage.roles import RoleRuleStore
from .storage.subscriptions import SubscriptionRepository
from .translator import CatalogueTranslator
from .user_locales import UserLocales

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
        # Kept for what the bot later says outside an interaction (DMs): see bot/user_locales.
        await interaction.client.user_locales.remember(interaction.user.id, interaction.locale)
        # A key typed into any option is a leak: refused privately, never echoed.
        return not await refuse_key_in_options(interaction)

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


class GW2Bot(commands.AutoShardedBot):
    """A discord.py bot that knows its settings and services; sharded (one shard when small)."""

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
        discord_settings = services.settings.discord
        if discord_settings.shard_ids:
            options["shard_ids"] = list(discord_settings.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents,
            tree_cls=GW2CommandTree,
            guild_ready_timeout=services.settings.discord.guild_ready_timeout,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            shard_count=discord_settings.shard_count,
            # No message cache: the bot never reads past messages, and a cache of the last 1,000
            # (most of them the bot's own answers, embeds and buttons included) costs memory and
            # garbage-collector time on every message sent. The leak guard remembers what it needs.
            max_messages=None,
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
        self.shard_monitor = services.metric_set(ShardMonitor)
        self.shard_monitor.bind(latency=self._shard_latency, guild_counts=self._guilds_per_shard)
        # Set from GET /gateway/bot when the shards launch.
        self.identify_gate = IdentifyGate(1, services.clock)
        # guild id -> (monotonic expiry, stored language): cogs/common/locale.py
        self.guild_languages: dict[int, tuple[float, str]] = {}
        # user id -> last seen Discord language, for DMs sent outside an interaction.
        self.user_locales = UserLocales(services.keys, services.clock)

    # Lifecycle ---------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        # Localised command names and descriptions (fr, de, es) in the sync payload.
        await self.tree.set_translator(CatalogueTranslator())
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

    async def launch_shards(self) -> None:
        """discord.py's launch, plus the identify rate limit from ``session_start_limit``.

        ``GET /gateway/bot`` gives the recommended shard count (used unless DISCORD_SHARD_COUNT
        is set), the gateway URL and how many shards may IDENTIFY at once (max_concurrency).
        """
        if self.is_closed():
            return
        recommended, url, limits = await self.http.get_bot_gateway()
        if cast("int | None", self.shard_count) is None:
            self.shard_count = recommended
            gateway = yarl.URL(url)
        else:
            gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        shard_ids = list(self.shard_ids or range(self.shard_count))
        self._connection.shard_count = self.shard_count
        self._connection.shard_ids = shard_ids
        self.identify_gate = IdentifyGate(limits["max_concurrency"], self.services.clock)
        self.shard_monitor.configure(self.shard_count, shard_ids)
        log.info(
            "Launching %d of %d shard(s), %d identify at a time (%d session starts left)",
            len(shard_ids),
            self.shard_count,
            self.identify_gate.max_concurrency,
            limits["remaining"],
        )
        if limits["remaining"] < len(shard_ids):
            # Discord would refuse the identifies (and may reset the token): wait for the reset.
            reset_s = limits["reset_after"] / 1000
            log.warning("Session start limit reached: waiting %.0f s for its reset", reset_s)
            await self.services.clock.sleep(reset_s)
        for shard_id in shard_ids:
            await self.launch_shard(gateway, shard_id, initial=shard_id == shard_ids[0])

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self.identify_gate.wait(shard_id or 0)

    async def on_shard_connect(self, shard_id: int) -> None:
        self.shard_monitor.connected(shard_id)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.shard_monitor.resumed(shard_id)

    async def on_shard_disconnect(self, shard_id: int) -> None:
        self.shard_monitor.disconnected(shard_id)

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info(
            "Connected as %s (%d) to %d guilds on %d of %d shard(s)",
            self.user,
            self.user.id,
            len(self.guilds),
            len(self.shard_monitor.owned),
            self.shard_count or 1,
        )

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
        # Errors are answered privately: in the user's own language.
        answer = explain(error, resolve_locale(getattr(interaction, "locale", None)))
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

    def shards_down(self) -> list[int]:
        """The shards this process runs whose gateway session is not up now."""
        return self.shard_monitor.down(self._shard_open)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process runs the shard Discord delivers ``guild_id`` on."""
        return self.shard_monitor.owns(guild_id)

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

    def _shard_open(self, shard_id: int) -> bool:
        shard = self.get_shard(shard_id)
        return shard is not None and not shard.is_closed()

    def _shard_latency(self, shard_id: int) -> float | None:
        shard = self.get_shard(shard_id)
        return shard.latency if shard is not None else None

    def _guilds_per_shard(self) -> dict[int, int]:
        return dict(collections.Counter(guild.shard_id for guild in self.guilds))

    def _finite_latency(self) -> float:
        latency = self.latency
        return latency if math.isfinite(latency) else float("nan")

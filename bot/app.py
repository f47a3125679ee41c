"""Start-up and shutdown of the whole process (``python -m bot``).

Order: settings → logging → (inside the loop) Sentry → database → HTTP session → services →
metrics sidecar → Discord. SIGINT/SIGTERM stop the bot, wait for loops and in-flight writes, then
close sessions and the database; the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import discord
import yarl
from prometheus_client import CollectorRegistry

from services.clock import Clock, SystemClock
from services.composer import ComposerMetrics, make_mistral_composer
from services.gw2 import GW2Client, GW2Metrics
from services.keys import KeyMetrics, KeyVault, KeyVaultError
from services.keys.revalidator import KeyRevalidator
from services.keys.vault import ENV_VAR, KEY_FILE_NAME
from services.matches import MatchService
from services.mistral_status import MistralProbe
from services.secrets import SecretRedactor
from services.shared_state import RedisLink

from . import __version__
from .client import EXTENSIONS, GW2Bot, Services
from .config import ConfigError, Settings, load_settings
from .endpoints import configure_discord_endpoints, restore_discord_endpoints
from .logging import setup_logging
from .memory import freeze_when_ready
from .metrics import DEGRADED, BotMetrics, MetricsServer, monitor_event_loop_lag
from .sentry import init_sentry
from .shards import fatal_close_message
from .shared import open_shared_state
from .startup import (
    StartupError,
    database_error,
    describe_os_error,
    metrics_port_error,
    open_postgres_or_exit,
    prepare_database_file,
    remove_generated_key,
)
from .storage import Database, MigrationError
from .storage.alerts import AlertRepository
from .storage.guilds import GuildSettingsRepository
from .storage.keys import LinkedKeyStore, stored_ciphertexts
from .storage.postgres import DATABASE_ERRORS
from .storage.roles import RoleRuleStore
from .storage.subscriptions import SubscriptionRepository

log = logging.getLogger(__name__)

# What reading the database may raise on either backend (SQLite, PostgreSQL).
_STORAGE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, *DATABASE_ERRORS)
_STORAGE_OR_VALUE_ERRORS: tuple[type[BaseException], ...] = (*_STORAGE_ERRORS, ValueError)

USER_AGENT = f"GW2Optimizer/{__version__} (+https://github.com/gw2optimizer/gw2optimizer)"

__all__ = ["Application", "StartupError", "main", "serve"]


class Application:
    """The running process: its services, the metrics sidecar and the Discord client."""

    def __init__(
        self,
        settings: Settings,
        *,
        redactor: SecretRedactor | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
    ) -> None:
        self.settings = settings
        self.redactor = redactor or SecretRedactor(settings.secrets())
        self.clock = clock or SystemClock()
        self.registry = registry or CollectorRegistry()
        self.extensions = extensions
        self.metrics = BotMetrics(self.registry)
        self.bot: GW2Bot | None = None
        self.metrics_server: MetricsServer | None = None
        self._services: Services | None = None
        self._bot_task: asyncio.Task[None] | None = None
        self._lag_task: asyncio.Task[None] | None = None
        self._previous_endpoints: tuple[str, yarl.URL] | None = None
        # The key file this start generated: removed again if start-up fails before any use.
        self.generated_key_file: Path | None = None
        self.redis: RedisLink | None = None  # cluster mode: the shared Redis (REDIS_URL)

    async def start(self) -> None:
        """Open everything and connect to Discord (returns once the connection is under way)."""
        settings = self.settings
        self._previous_endpoints = configure_discord_endpoints(
            str(settings.discord.api_base_url), str(settings.discord.gateway_url)
        )
        target = settings.database.target()
        if target.backend == "postgresql":
            db = await open_postgres_or_exit(target)
        else:
            assert target.path is not None
            prepare_database_file(target.path)
            try:
                db = await Database.open(target.path)
            except MigrationError as error:
                raise StartupError(str(error)) from error
            except (sqlite3.Error, OSError) as error:
                raise database_error(target.path, error) from None
        db.query_seconds = self.metrics.db_query_seconds
        try:
            vault = await self._open_vault(db)
        except BaseException:
            await db.close()
            raise
        http = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        keys = LinkedKeyStore(db, vault)
        key_metrics = KeyMetrics(self.registry)  # shared with the key cogs via metric_set
        shared = open_shared_state(settings, self.clock, self.registry)
        self.redis = shared.link if shared is not None else None
        gw2 = GW2Client(
            http,
            base_url=str(settings.gw2.base_url),
            clock=self.clock,
            metrics=GW2Metrics(self.registry),
            auth_transport=settings.gw2.auth_transport,
            user_agent=USER_AGENT,
            rate_limiter=shared.gw2_limiter if shared is not None else None,
            shared=shared.responses if shared is not None else None,
        )
        self._services = Services(
            settings=settings,
            db=db,
            http=http,
            clock=self.clock,
            registry=self.registry,
            metrics=self.metrics,
            vault=vault,
            gw2=gw2,
            guild_settings=GuildSettingsRepository(db),
            keys=keys,
            subscriptions=SubscriptionRepository(db),
            alerts=AlertRepository(db),
            roles=RoleRuleStore(db),
            key_checks=KeyRevalidator(keys, gw2, clock=self.clock, metrics=key_metrics),
            matches=MatchService(gw2, self.clock),
            mistral=None,
            _metric_sets={KeyMetrics: key_metrics},
        )
        if shared is not None:
            self._services.discord_pacer = shared.discord_pacer
        mistral = settings.mistral
        self._services.mistral = make_mistral_composer(
            api_key=mistral.api_key.get_secret_value() if mistral.api_key else None,
            model=mistral.model,
            server_url=str(mistral.server_url).rstrip("/"),
            timeout_s=mistral.timeout_seconds,
            retries=1,
            metrics=self._services.metric_set(ComposerMetrics),
            redactor=self.redactor,
        )
        if mistral.api_key is not None:
            self._services.mistral_probe = MistralProbe(
                api_key=mistral.api_key.get_secret_value(),
                server_url=str(mistral.server_url).rstrip("/"),
                clock=self.clock,
                timeout_s=min(2.0, mistral.timeout_seconds),
            )
        self.bot = GW2Bot(self._services, extensions=self.extensions)
        if settings.metrics.port:
            self.metrics_server = MetricsServer(
                self.registry,
                self.readiness,
                host=settings.metrics.host,
                port=settings.metrics.port,
            )
            try:
                await self.metrics_server.start()
            except OSError as error:
                self.metrics_server = None
                raise metrics_port_error(
                    settings.metrics.host, settings.metrics.port, error
                ) from None
        self._lag_task = asyncio.create_task(
            monitor_event_loop_lag(self.metrics.event_loop_lag), name="event-loop-lag"
        )
        token = settings.discord.token
        if token is None:
            raise StartupError("DISCORD_TOKEN is not set")
        self._bot_task = asyncio.create_task(
            self.bot.start(token.get_secret_value()), name="discord-client"
        )

    async def _open_vault(self, db: Database) -> KeyVault:
        """Load or create the encryption key; refuse to start if stored keys can't be read."""
        material = self.settings.security.key_encryption_key
        data_dir = self.settings.database.data_dir
        try:
            ciphertexts = await stored_ciphertexts(db)
        except _STORAGE_ERRORS as error:
            raise database_error(db.path, error) from None
        if material is None and ciphertexts and not (data_dir / KEY_FILE_NAME).exists():
            # Generating a fresh key now would sit a second, different key next to data
            # encrypted with the lost one: refuse instead.
            raise StartupError(
                f"The database holds {len(ciphertexts)} linked API key(s) but {ENV_VAR} is unset "
                f"and {data_dir / KEY_FILE_NAME} is missing: restore the key file from a backup or "
                f"set {ENV_VAR} to the key they were encrypted with. No new key was generated."
            )
        try:
            loaded = KeyVault.from_config(
                material.get_secret_value() if material else None, data_dir
            )
            if loaded.generated:
                self.generated_key_file = loaded.key_file
            loaded.vault.check_can_decrypt(ciphertexts)
        except KeyVaultError as error:
            raise StartupError(str(error)) from None
        if loaded.generated:
            log.warning(
                "KEY_ENCRYPTION_KEY is not set: generated %s (fingerprint %s). Back this file up "
                "with the database: without it the linked keys cannot be read.",
                loaded.key_file,
                loaded.vault.fingerprint,
            )
        return loaded.vault

    async def wait_until_ready(self, timeout_s: float = 30.0) -> None:
        """Wait for READY (and the guilds), failing fast if the client dies first."""
        assert self.bot is not None
        assert self._bot_task is not None
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._bot_task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._bot_task in done:
                self._bot_task.result()  # re-raise the client's error
            raise TimeoutError("the Discord client did not become ready in time")

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set or the Discord client ends by itself."""
        assert self._bot_task is not None
        stopper = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            await asyncio.wait({stopper, self._bot_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if self._bot_task.done() and not stop.is_set():
            self._bot_task.result()  # surfaces a login or gateway failure

    async def readiness(self) -> dict[str, str]:
        """Why the process is not ready (empty when it is): every shard up, DB answering and
        writable (a one-row write probe)."""
        problems: dict[str, str] = {}
        problems.update(self._gateway_readiness())
        if self._services is None or not await self._services.db.ping():
            problems["database"] = "not answering"
        elif (write_problem := await self._services.db.write_problem()) is not None:
            problems["database"] = f"cannot write: {write_problem}"
        if self.redis is not None and (self.redis.reason or not await self.redis.ping()):
            problems[DEGRADED + "redis"] = self.redis.reason or "not answering"
        return problems

    def _gateway_readiness(self) -> dict[str, str]:
        """``{"gateway": ...}`` unless every shard this process runs is connected."""
        bot = self.bot
        if bot is None or bot.is_closed() or not bot.is_ready():
            return {"gateway": "not connected"}
        down = bot.shards_down()
        if down:
            return {"gateway": "shards not connected: " + ", ".join(map(str, down))}
        return {}

    async def stop(self, *, failed: bool = False) -> None:
        """Close the client, stop loops, finish writes, close sessions and the database.

        ``failed``: start-up failed; a key file generated by this start is removed when no key
        was linked with it.
        """
        # A client never started has nothing to close (and AutoShardedBot.close() fails before
        # login: its event queue is made there).
        if self.bot is not None and self._bot_task is not None and not self.bot.is_closed():
            await self.bot.close()  # unloads cogs: their loops are cancelled in cog_unload
        if self._bot_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._bot_task
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
        if self.metrics_server is not None:
            await self.metrics_server.close()
        if self._services is not None:
            if self._services.mistral is not None:
                await self._services.mistral.aclose()
            if self._services.mistral_probe is not None:
                await self._services.mistral_probe.aclose()
            await self._services.gw2.aclose()
            await self._services.http.close()
            if self.redis is not None:
                await self.redis.aclose()
            if failed and self.generated_key_file is not None:
                await self._discard_unused_key(self._services.db, self.generated_key_file)
            await self._services.db.close()
        if self._previous_endpoints is not None:
            restore_discord_endpoints(self._previous_endpoints)
        log.info("Shut down cleanly")

    async def _discard_unused_key(self, db: Database, key_file: Path) -> None:
        try:
            linked = len(await stored_ciphertexts(db))
        except _STORAGE_OR_VALUE_ERRORS:
            return  # cannot tell whether the key is in use: keep it
        if linked == 0:
            remove_generated_key(key_file)
            self.generated_key_file = None


async def serve(settings: Settings, redactor: SecretRedactor) -> None:
    """Run until SIGINT/SIGTERM."""
    init_sentry(
        settings.sentry.dsn.get_secret_value() if settings.sentry.dsn else None,
        redactor=redactor,
        release=__version__,
        environment=settings.sentry.environment,
        traces_sample_rate=settings.sentry.traces_sample_rate,
        profiles_sample_rate=settings.sentry.profiles_sample_rate,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    app = Application(settings, redactor=redactor)
    failed = True
    try:
        try:
            await app.start()
        except OSError as error:  # not Discord: the client only connects in run_until_stopped
            raise StartupError(
                f"{describe_os_error(error)} ({type(error).__name__}) while opening local "
                "resources; see the settings in README.md#configuration"
            ) from None
        assert app.bot is not None
        freezing = asyncio.create_task(
            freeze_when_ready(app.bot.wait_until_ready()), name="gc-freeze"
        )
        try:
            await app.run_until_stopped(stop)
        finally:
            freezing.cancel()
        failed = False
    except discord.LoginFailure as error:
        raise StartupError(
            "Discord rejected DISCORD_TOKEN: copy the bot token again from the developer portal."
        ) from error
    except (aiohttp.ClientError, OSError, discord.GatewayNotFound) as error:
        raise StartupError(
            f"Could not reach Discord at {settings.discord.api_base_url} "
            f"({type(error).__name__}): check the network or DISCORD_API_BASE_URL."
        ) from error
    except discord.ConnectionClosed as error:
        # A close code no reconnect can fix (4004 token, 4010/4011 shards, 4013 intents).
        message = fatal_close_message(error.code) or (
            f"Discord closed the gateway with code {error.code}, which the bot cannot recover from."
        )
        raise StartupError(message) from error
    except discord.PrivilegedIntentsRequired as error:
        raise StartupError(
            "Discord refused the Message Content intent, which the key leak guard needs: enable "
            "it under Bot → Privileged Gateway Intents in the developer portal, or set "
            "LEAK_GUARD_ENABLED=false to run without the guard (see README.md#discord-application)."
        ) from error
    finally:
        await app.stop(failed=failed)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when the ``speed`` extra is installed, else asyncio's default."""
    try:
        uvloop = importlib.import_module("uvloop")  # optional: not a static import
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main() -> int:
    """The process entry point; returns the exit status."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"gw2optimizer: {error}", file=sys.stderr)
        return 2
    redactor = SecretRedactor(settings.secrets())
    setup_logging(settings.logging.level, settings.logging.format, redactor)
    loop_factory = event_loop_factory()
    log.info("Event loop: %s", "uvloop" if loop_factory else "asyncio")
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(settings, redactor))
    except StartupError as error:
        log.error("Start-up failed: %s", error)
        return 1
    except KeyboardInterrupt:
        pass
    return 0

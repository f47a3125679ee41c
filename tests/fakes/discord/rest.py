"""The fake Discord's REST routing, login, command sync and guild routes."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence

import orjson
from aiohttp import web

from tests.fakes.discord._common import (
    _API_PREFIX,
    _GATEWAY_PATH,
    _RESUME_PATH,
    RecordedRequest,
    _ApiError,
    _error_response,
    _fault_response,
    _json_response,
    _read_body,
)
from tests.fakes.discord.openapi import spec_errors
from tests.fakes.discord_members import member_routes
from tests.fakes.discord_payloads import (
    JSON,
    FakeGuild,
)

log = logging.getLogger("tests.fakes.discord")


class RestMixin:
    """REST dispatch and routes (state lives in :class:`FakeDiscord`)."""

    # -- REST ----------------------------------------------------------------------------------

    def add_route(
        self,
        method: str,
        path_regex: str,
        handler: Callable[..., Awaitable[web.Response]],
        *,
        auth: bool = True,
    ) -> None:
        """Serve another REST route (checked before the built-in ones, so it may override one).

        ``path_regex`` matches the whole path after the API base (``/guilds/(?P<guild_id>\\d+)
        /roles/(?P<role_id>\\d+)``); ``handler(record, **named_groups)`` returns a response,
        e.g. ``json_response(200, {...})``, or raises ``ApiError(status, code, message)`` (both
        from ``tests.fakes.discord``). ``auth`` requires a bot Authorization header. Features
        whose routes the fake lacks can add them in their own test helpers this way.
        """
        route = (method.upper(), re.compile(f"^{path_regex}$"), handler, auth)
        self._routes.insert(len(self._extra_routes), route)
        self._extra_routes.append(route)

    def _build_routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., Awaitable[web.Response]], bool]]:
        table: list[tuple[str, str, Callable[..., Awaitable[web.Response]], bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway_bot, True),
            ("GET", r"/users/(?P<user_id>\d+)", self._get_user, True),
            ("POST", r"/users/@me/channels", self._create_dm, True),
            ("GET", r"/applications/(?P<app_id>\d+)/commands", self._get_commands, True),
            ("PUT", r"/applications/(?P<app_id>\d+)/commands", self._put_commands, True),
            ("POST", r"/applications/(?P<app_id>\d+)/commands", self._post_command, True),
            (
                "GET",
                r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                r"/applications/(?P<app_id>\d+)/guilds/(?P<guild_id>\d+)/commands",
                self._put_commands,
                True,
            ),
            ("GET", r"/channels/(?P<channel_id>\d+)", self._get_channel, True),
            ("GET", r"/channels/(?P<channel_id>\d+)/messages", self._list_messages, True),
            ("POST", r"/channels/(?P<channel_id>\d+)/messages", self._post_message, True),
            (
                "GET",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._get_message,
                True,
            ),
            (
                "PATCH",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._edit_message,
                True,
            ),
            (
                "DELETE",
                r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)",
                self._delete_message,
                True,
            ),
            ("POST", r"/channels/(?P<channel_id>\d+)/typing", self._typing, True),
            ("GET", r"/guilds/(?P<guild_id>\d+)", self._get_guild, True),
            ("GET", r"/guilds/(?P<guild_id>\d+)/channels", self._get_guild_channels, True),
            (
                "GET",
                r"/guilds/(?P<guild_id>\d+)/members/(?P<user_id>\d+)",
                self._get_guild_member,
                True,
            ),
            ("GET", r"/guilds/(?P<guild_id>\d+)/roles", self._get_guild_roles, True),
            (
                "POST",
                r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback",
                self._callback,
                False,
            ),
            ("POST", r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)", self._followup, False),
            (
                "GET",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._edit_webhook_message,
                False,
            ),
            (
                "DELETE",
                r"/webhooks/(?P<app_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)",
                self._delete_webhook_message,
                False,
            ),
        ]
        table += member_routes(self)  # roles and nicknames: tests/fakes/discord_members.py
        return [
            (method, re.compile(f"^{path}$"), handler, auth)
            for method, path, handler, auth in table
        ]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if (
            request.path == _GATEWAY_PATH or request.path.startswith(_RESUME_PATH)
        ) and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._gateway(request)
        body, files = await _read_body(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        match = _API_PREFIX.match(request.path)
        path = request.path[match.end() :] if match else request.path
        record = RecordedRequest(
            request.method,
            path,
            dict(request.query),
            body,
            headers,
            "Authorization" in request.headers,
            files,
        )
        self.requests.append(record)
        try:
            response = await self._respond(request, record, api=match is not None)
        except _ApiError as error:
            response = _error_response(error)
        except Exception as error:
            log.exception("fake discord: handler failed for %s %s", record.method, record.path)
            self.errors.append(f"{record.method} {record.path}: {error!r}")
            response = _json_response(
                500, {"message": "500: Internal Server Error (fake bug)", "code": 0}
            )
        record.status = response.status
        if isinstance(response, web.Response) and response.body:
            with contextlib.suppress(ValueError, TypeError):
                record.response = orjson.loads(response.body)  # type: ignore[arg-type]
        self._bump()
        return response

    async def _respond(
        self, request: web.Request, record: RecordedRequest, *, api: bool
    ) -> web.Response:
        for rule in self.fail_rules:
            if rule.matches(record.method, record.path):
                rule.hits += 1
                return _fault_response(rule)
        if api:
            for method, pattern, handler, needs_auth in self._routes:
                found = pattern.match(record.path)
                if found is None or method != record.method:
                    continue
                if needs_auth:
                    self._check_auth(request)
                # Discord's own request schema (tests/fakes/discord/openapi.py) for every body.
                violations = spec_errors(record.method, record.path, record.json)
                if violations:
                    self.spec_violations.append(f"{record.method} {record.path}: {violations}")
                    errors = [{"code": "SPEC_INVALID", "message": v} for v in violations]
                    raise _ApiError(400, 50035, "Invalid Form Body", {"_errors": errors})
                return await handler(record, **found.groupdict())
        self.unknown_routes.append(record)
        log.warning("fake discord: unknown route %s %s", record.method, record.path)
        return _json_response(404, {"message": "404: Not Found", "code": 0})

    def _check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bot ") or (
            self.expected_token is not None and header != f"Bot {self.expected_token}"
        ):
            raise _ApiError(401, 0, "401: Unauthorized")

    # login & gateway

    async def _get_me(self, record: RecordedRequest) -> web.Response:
        return _json_response(
            200, self.bot_user.to_payload() | {"verified": True, "mfa_enabled": False}
        )

    async def _get_application(self, record: RecordedRequest) -> web.Response:
        return _json_response(
            200,
            {
                "id": str(self.application_id),
                "name": self.bot_user.name,
                "icon": None,
                "description": "A fake application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": self.owner_user.to_payload(),
                "team": None,
                "flags": 0,
                "bot": self.bot_user.to_payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds),
            },
        )

    async def _get_gateway(self, record: RecordedRequest) -> web.Response:
        return _json_response(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, record: RecordedRequest) -> web.Response:
        limit = {
            "total": 1000,
            "remaining": self.session_starts_remaining,
            "reset_after": 0,
            "max_concurrency": self.max_concurrency,
        }
        return _json_response(
            200, {"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limit}
        )

    async def _get_user(self, record: RecordedRequest, user_id: str) -> web.Response:
        user = self.users.get(int(user_id))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return _json_response(200, user.to_payload())

    async def _create_dm(self, record: RecordedRequest) -> web.Response:
        recipient = int((record.json or {}).get("recipient_id", 0))
        user = self.users.get(recipient)
        if user is None or user is self.bot_user:
            raise _ApiError(400, 50033, "Invalid Recipient(s)")
        return _json_response(200, self.dm_channel(user).to_payload())

    # commands

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.application_id:
            raise _ApiError(
                403, 20012, "You are not authorized to perform this action on this application"
            )

    def _command_list(self, guild_id: str | None) -> list[JSON]:
        if guild_id is None:
            return self.synced_commands
        guild = self.guilds.get(int(guild_id))
        if guild is None or not self._bot_in(guild):
            raise _ApiError(403, 50001, "Missing Access")
        return self.guild_synced_commands.setdefault(guild.id, [])

    def _echo_command(self, body: JSON, guild_id: str | None, existing: Sequence[JSON]) -> JSON:
        previous = next(
            (
                c
                for c in existing
                if c["name"] == body["name"] and c.get("type", 1) == body.get("type", 1)
            ),
            None,
        )
        command = {
            "id": previous["id"] if previous else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            "contexts": None,
            "integration_types": [0],
        } | body
        if guild_id is not None:
            command["guild_id"] = guild_id
        return command

    async def _get_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        return _json_response(200, self._command_list(guild_id))

    async def _put_commands(
        self, record: RecordedRequest, app_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_app(app_id)
        existing = self._command_list(guild_id)
        body = record.json or []
        if not isinstance(body, list):
            raise _ApiError(400, 50035, "Invalid Form Body")
        commands = [self._echo_command(c, guild_id, existing) for c in body]
        if guild_id is None:
            self.synced_commands = commands
        else:
            self.guild_synced_commands[int(guild_id)] = commands
        self.sync_count += 1
        return _json_response(200, commands)

    async def _post_command(self, record: RecordedRequest, app_id: str) -> web.Response:
        self._check_app(app_id)
        command = self._echo_command(record.json or {}, None, self.synced_commands)
        self.synced_commands = [c for c in self.synced_commands if c["id"] != command["id"]] + [
            command
        ]
        return _json_response(201, command)

    # guilds

    def _route_guild(self, guild_id: str) -> FakeGuild:
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        if not self._bot_in(guild):
            raise _ApiError(403, 50001, "Missing Access")
        return guild

    async def _get_guild(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        payload = self._guild_create(guild, 0)
        for key in ("channels", "members", "voice_states", "presences", "threads"):
            payload.pop(key, None)
        return _json_response(200, payload)

    async def _get_guild_channels(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        return _json_response(200, [c.to_payload() for c in guild.channels.values()])

    async def _get_guild_member(
        self, record: RecordedRequest, guild_id: str, user_id: str
    ) -> web.Response:
        member = self._route_guild(guild_id).get_member(int(user_id))
        if member is None:
            raise _ApiError(404, 10007, "Unknown Member")
        return _json_response(200, member.to_payload())

    async def _get_guild_roles(self, record: RecordedRequest, guild_id: str) -> web.Response:
        guild = self._route_guild(guild_id)
        return _json_response(200, [r.to_payload() for r in guild.roles.values()])

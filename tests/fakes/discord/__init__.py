"""A fake Discord (gateway websocket + REST) that the real discord.py client connects to.

The package is split by job; :class:`FakeDiscord` (``fake.py``) combines them: ``gateway.py``
(websocket sessions, IDENTIFY/RESUME, live dispatches), ``rest.py`` (routing, login, command
sync, guilds), ``rest_messages.py`` (channels and messages), ``interactions.py`` (injecting
interactions, :class:`InteractionHandle`), ``interaction_responses.py`` (callbacks and webhooks),
``world.py`` (the world model, inspection, faults) and ``_common.py`` (records and helpers).

It listens on 127.0.0.1 with an ephemeral port. The client under test is unchanged: two class
attributes point it at the fake (``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``), which covers REST, interaction callbacks,
follow-ups and ``@original`` edits, and the gateway. Everything that waits is bounded by a
timeout (``FakeDiscord.default_timeout``, 5 s) and fails with :class:`FakeDiscordTimeout`, an
``AssertionError`` that lists the last requests, so a broken test fails fast.

Usage::

    from tests.fakes.discord import FakeDiscord

    async def test_match_command() -> None:
        async with FakeDiscord() as fake:
            guild = fake.add_guild(name="Test")           # @everyone, bot member, #general
            alice = fake.add_member(guild, fake.add_user("Alice"), permissions="manage_guild")
            bot = make_bot()            # a commands.Bot, guild_ready_timeout=0.05 (see run_client)
            async with fake.run_client(bot):  # patch endpoints, start, wait for on_ready, close
                handle = await fake.slash(alice, "wvw match", {"team": "red"})
                message = await handle.wait_final_message()
                assert handle.ephemeral and "Red" in message.all_text()

API in brief (``timeout=None`` means ``fake.default_timeout``)

Lifecycle and wiring
    ``FakeDiscord(*, bot_name="GW2Optimizer", expected_token=None, default_timeout=5.0)``;
    ``await start()`` / ``await close()`` or ``async with``; ``api_base``, ``gateway_url``,
    ``resume_gateway_url``, ``application_id``, ``bot_user``;
    ``patched_client_endpoints()`` (sync context manager setting and restoring the two class
    attributes); ``client_env()`` (``DISCORD_API_BASE_URL``/``DISCORD_GATEWAY_URL`` for a
    subprocess); ``run_client(client, token="fake-token", wait_until_ready=True)`` (async context
    manager yielding the client's task: patch, start, ``wait_ready`` and on_ready, which
    discord.py delays by ``guild_ready_timeout`` (2 s default: pass a small one); on exit
    ``client.close()`` and restore). Close the client before the fake, or it keeps reconnecting;
    ``await wait_for_identify()`` (the IDENTIFY payload), ``await wait_ready(client_task=None)``
    (READY and every GUILD_CREATE parsed by the client), ``connected_gateways``,
    ``identify_payloads``, ``resume_count``, ``gateway_paths``,
    ``await drop_gateway(code=4000)`` (the client reconnects to resume_gateway_url and RESUMEs),
    ``allowed_privileged_intents`` (bitmask; set 0 or call ``refuse_privileged_intents()`` and
    IDENTIFY with members/presences/message_content is closed with 4014).

Shards (``shards.py``)
    ``FakeDiscord(shard_count=1, max_concurrency=1)``: what ``GET /gateway/bot`` answers
    (``shards``, ``session_start_limit``); also ``session_starts_remaining``. IDENTIFY with
    ``shard: [id, count]`` gets only the guilds with ``(guild_id >> 22) % count == id``; guild
    events go to that shard's session, DMs to shard 0. ``guild_id_on_shard(id, count=None)``,
    ``shard_of(guild)``, ``add_guilds(n, *, text_channels=2, roles=2)`` (cheap, round-robin over
    the shards, no member list); ``connected_shards``, ``session_for_shard(id)``,
    ``await wait_shards_connected(ids)``, ``await wait_ready(shard_ids=...)``;
    ``await drop_shard(id, how="close"|"abrupt"|"reconnect"|"invalid_session"|
    "invalid_session_resumable", code=4000)``; ``stall_shard(id)`` / ``release_shard(id)`` (the
    shard's RESUME connection waits before HELLO: it stays down); ``identify_close_code``
    (close every IDENTIFY with 4004, 4013...), ``max_guilds_per_shard`` (above it: 4011).

Extending (``rest.py``)
    ``add_route(method, path_regex, handler, *, auth=True)`` serves a REST route the fake lacks
    (checked first); ``handler(record, **named_groups)`` returns ``json_response(status, body)``
    or raises ``ApiError(status, code, message)``.

World model (sync, silent: it is what the next READY/GUILD_CREATE describes)
    ``snowflake()``; ``add_user(name, *, bot=False, id=None)``;
    ``add_guild(name="Test Guild", *, id=None, owner=None, everyone_permissions=DEFAULT,
    bot_permissions=DEFAULT, default_channel="general")``;
    ``add_role(guild, name, permissions=0)``; ``add_text_channel(guild, name, *, overwrites=(),
    parent=None)``; ``add_voice_channel(...)`` (same); ``add_category(guild, name)``;
    ``add_member(guild, user, *, roles=(), permissions=None, nick=None)`` (``permissions`` makes a
    role holding exactly those bits); ``set_overwrite(channel, target, *, allow=0, deny=0)``
    (target: role, member, user or guild for @everyone); ``deny_bot_permission(channel, *perms)``;
    ``set_voice_channel(guild, user, channel_or_None)``; ``close_dms(user)``;
    ``dm_channel(user)``; ``channel(id)``; ``bot_permissions_in(channel)``.
    Permissions: ``int``, ``discord.Permissions`` or flag names (``"manage_guild"``), see
    :func:`permission_bits`.

Live changes (async: change the world and dispatch, then wait until the client parsed it)
    ``await dispatch(event, data, *, wait=True)`` for anything; ``await join_guild(guild)``
    (GUILD_CREATE); ``await remove_guild(guild)`` (GUILD_DELETE, channel routes answer 403/50001);
    ``await delete_channel(channel)`` (CHANNEL_DELETE, routes answer 404/10003);
    ``await create_channel(...)`` (CHANNEL_CREATE); ``await delete_message(message)``
    (MESSAGE_DELETE, then 404/10008); ``await move_voice(guild, user, channel)``
    (VOICE_STATE_UPDATE); ``await add_member_live(guild, user, ...)`` (GUILD_MEMBER_ADD);
    ``await send_user_message(author, content, channel=None)`` (MESSAGE_CREATE; DM if no channel);
    ``await edit_user_message(message, content)`` (MESSAGE_UPDATE);
    ``await sync()`` (barrier: the client has parsed everything sent so far).

Interactions (each returns an :class:`InteractionHandle`)
    ``await slash(who, "key add", options=None, *, channel=None)``;
    ``await autocomplete(who, "wvw match", options, focused=None, *, channel=None)``;
    ``await click(who, message, custom_id, *, values=None)``;
    ``await submit_modal(who, modal_handle_or_dict, values, *, channel=None)`` (values keyed by
    text input custom_id or label).
    ``who`` is a :class:`FakeMember` (guild context, default channel = the guild's default
    channel), or a :class:`FakeUser` with ``channel=`` a guild channel (must be a member), or a
    :class:`FakeUser` alone (bot DM, context 1). Options are encoded using the synced command's
    schema when it exists (users, members, channels and roles become ids + ``resolved``).

Handles
    ``callbacks``, ``response_type``, ``ephemeral``, ``original``, ``followups``, ``edits``,
    ``deleted``, ``modal``, ``choices``, ``payload``; ``await wait_response()``,
    ``await wait_final_message()``, ``await wait_followups(count=1)``, ``await wait_modal()``,
    ``await wait_choices()``, ``await wait_edit(count=1)``, ``expire()``.

Messages and records
    ``requests`` (:class:`RecordedRequest`: method, path relative to the API base, query, json,
    headers without Authorization, had_authorization, status, response), ``unknown_routes``,
    ``messages`` (id -> :class:`FakeMessage`), ``messages_in(channel, include_deleted=False)``,
    ``sent_dms(user, include_interactions=False)`` (what ``user.send`` posted),
    ``deleted_messages``, ``synced_commands`` (global),
    ``guild_synced_commands`` (guild id -> list), ``sync_count``, ``gateway_received``,
    ``await wait_for_request(method, path_regex, count=1)``,
    ``await wait_for_message(channel=None, predicate=None)``,
    ``await wait_until(predicate, what, timeout=None)``;
    ``errors`` (exceptions inside the fake: a wait fails at once when one happens).

FakeMessage
    ``id``, ``channel``, ``author``, ``content``, ``embeds``, ``embed`` (first), ``components``,
    ``custom_ids()``, ``all_text()`` (content + embed + component text, for leak assertions),
    ``flags``, ``ephemeral``, ``loading``, ``source`` ("channel", "interaction", "followup",
    "user"), ``deleted``, ``history`` (payloads before each edit), ``to_payload()``.

Faults (Discord's error shapes; 429 carries the rate-limit headers plus ``Via``)
    ``fail(method, path_regex, status=500, code=0, message=None, times=1, retry_after=0.05,
    is_global=False)`` (``times=None`` means forever; returns a :class:`FailRule` with ``hits``);
    ``clear_faults()``; ``close_dms(user)`` (403/50007); ``deny_bot_permission`` (403/50001 without
    View Channel, 403/50013 without Send Messages); deleting another user's message without
    Manage Messages (403/50013) or in a DM (403/50003); unknown message (404/10008); unknown
    channel (404/10003); unknown route (404, code 0, recorded in ``unknown_routes``).

Modelled Discord behaviour worth knowing
    - Intents are honoured: MESSAGE_CREATE needs guild_messages / dm_messages; guild messages from
      others that do not mention the bot arrive with empty content/embeds without the
      message_content intent; GUILD_CREATE lists every member only with the members intent
      (otherwise the bot and members in voice) and voice states only with voice_states.
    - After a defer (type 5) the first follow-up replaces the "thinking" message (same id).
    - Non-ephemeral messages the bot creates are also dispatched as MESSAGE_CREATE, like Discord.
    - Bodies are validated against Discord's main limits (content 2000, 10 embeds, embed
      title/description/fields/6000 total, custom_id 100, 25 choices...) → 400/50035; message,
      callback, follow-up and DM bodies also against Discord's OpenAPI request schema
      (``openapi.py``, from ../shared/discord-api-spec) → 400/50035, listed in ``spec_violations``.
"""

from __future__ import annotations

from tests.fakes.discord._common import (
    ApiError,
    FailRule,
    FakeDiscordError,
    FakeDiscordTimeout,
    RecordedRequest,
    json_response,
)
from tests.fakes.discord._common import _fault_response as _fault_response
from tests.fakes.discord.fake import FakeDiscord
from tests.fakes.discord.interactions import InteractionHandle
from tests.fakes.discord_payloads import (
    MANAGE_MESSAGES,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    Overwrite,
    permission_bits,
)

__all__ = [
    "MANAGE_MESSAGES",
    "ApiError",
    "FailRule",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordError",
    "FakeDiscordTimeout",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "InteractionHandle",
    "Overwrite",
    "RecordedRequest",
    "json_response",
    "permission_bits",
]

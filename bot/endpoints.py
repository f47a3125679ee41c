"""Point the real discord.py client at the configured Discord endpoints.

discord.py reads its REST base and gateway address from two class attributes; production leaves
Discord's defaults, tests and staging point them at a fake (``DISCORD_API_BASE_URL``,
``DISCORD_GATEWAY_URL``).
"""

from __future__ import annotations

import discord
import yarl


def configure_discord_endpoints(api_base_url: str, gateway_url: str) -> tuple[str, yarl.URL]:
    """Set the REST base and gateway; returns the previous values so a caller can restore them."""
    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    discord.http.Route.BASE = api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


def restore_discord_endpoints(previous: tuple[str, yarl.URL]) -> None:
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = previous

#!/bin/sh
# Alertmanager's entrypoint in docker-compose.yml: the Discord webhook URL comes from the
# environment (ALERTMANAGER_DISCORD_WEBHOOK_URL), never from a committed file.
set -eu
template="${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml.in}"
config="${ALERTMANAGER_CONFIG:-/alertmanager/alertmanager.yml}"
url="${ALERTMANAGER_DISCORD_WEBHOOK_URL:-}"
if [ -n "$url" ]; then
    escaped=$(printf '%s' "$url" | sed 's/[&|\\]/\\&/g')
    sed "s|DISCORD_WEBHOOK_URL_HERE|$escaped|" "$template" > "$config"
else
    echo "ALERTMANAGER_DISCORD_WEBHOOK_URL is not set: alerts are shown in Alertmanager only" >&2
    sed -e 's|receiver: discord|receiver: none|' \
        -e 's|webhook_url: DISCORD_WEBHOOK_URL_HERE|webhook_url: https://discord.invalid/unused|' \
        "$template" > "$config"
fi
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$config" --storage.path=/alertmanager "$@"

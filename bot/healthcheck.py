"""``python -m bot.healthcheck``: the container's liveness probe (exit 0 healthy, 1 not).

Asks the metrics sidecar's ``/healthz`` on the loopback address. With ``METRICS_PORT=0`` the
sidecar is off and there is nothing to ask: the probe passes (the container lives as long as
the bot process does), so turning metrics off never makes a container unhealthy.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from pydantic import ValidationError

from .config import MetricsSettings


def probe(port: int, *, timeout_s: float = 4.0) -> bool:
    """Whether ``/healthz`` on 127.0.0.1:``port`` answers 200 (always true for port 0)."""
    if port == 0:
        return True
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    try:
        port = MetricsSettings().port
    except ValidationError:
        print("healthcheck: METRICS_PORT is invalid", file=sys.stderr)
        return 1
    return 0 if probe(port) else 1


if __name__ == "__main__":
    sys.exit(main())

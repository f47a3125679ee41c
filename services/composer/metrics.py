"""Prometheus metrics of the composer: solver runs, Mistral calls, fallbacks and proposals.

Labels are small fixed vocabularies (method, outcome, reason); never a user, guild or channel id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ComposerMetrics"]

_SOLVE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MISTRAL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class ComposerMetrics:
    """Every composer metric, registered on the bot's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.solver_runs = Counter(
            "gw2opt_composer_solver_runs_total",
            "Squad optimizer runs by method (milp, heuristic) and outcome.",
            ["method", "outcome"],
            registry=registry,
        )
        self.solve_seconds = Histogram(
            "gw2opt_composer_solve_seconds",
            "Wall time of one squad optimization.",
            ["method"],
            buckets=_SOLVE_BUCKETS,
            registry=registry,
        )
        self.mistral_requests = Counter(
            "gw2opt_mistral_requests_total",
            "Mistral chat requests by outcome (ok, timeout, unauthorized, rate_limited, ...).",
            ["outcome"],
            registry=registry,
        )
        self.mistral_seconds = Histogram(
            "gw2opt_mistral_request_seconds",
            "Latency of Mistral chat requests.",
            ["outcome"],
            buckets=_MISTRAL_BUCKETS,
            registry=registry,
        )
        self.mistral_tokens = Counter(
            "gw2opt_mistral_tokens_total",
            "Tokens reported by Mistral, by kind (prompt, completion).",
            ["kind"],
            registry=registry,
        )
        self.ai_fallbacks = Counter(
            "gw2opt_composer_ai_fallbacks_total",
            "Compositions served without AI advice, by reason.",
            ["reason"],
            registry=registry,
        )
        self.ai_proposals = Counter(
            "gw2opt_composer_ai_proposals_total",
            "AI swap proposals by verdict (accepted, rejected).",
            ["verdict"],
            registry=registry,
        )

"""The Mistral layer against a fake /v1/chat/completions on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.composer import (
    ComposeRequest,
    ComposerMetrics,
    MapContext,
    MatchContext,
    MistralComposer,
    RosterPlayer,
    TeamContext,
    compose,
    make_mistral_composer,
    optimize,
)
from services.composer.prompt import pseudonyms
from tests.fakes.mistral import FakeMistral, MistralReply

API_KEY = "mistral-secret-key-0123456789"
DISCORD_ID = "123456789012345678"
ROSTER = (
    RosterPlayer(name="Commander.1234", specs=("firebrand", "tempest")),
    RosterPlayer(name="Healer.5678", specs=("tempest", "scrapper")),
    RosterPlayer(name="Strip.9012", specs=("scourge", "reaper")),
    RosterPlayer(name="Boon.3456", specs=("chronomancer",)),
    RosterPlayer(name="Dps.7890", specs=("virtuoso", "deadeye")),
)
REQUEST = ComposeRequest(size=5, roster=ROSTER)
MATCH = MatchContext(
    our_colour="red",
    teams=(
        TeamContext(colour="red", name="Moogooloo", score=1200, victory_points=40, ppt=210),
        TeamContext(colour="blue", name="Rall's Rest", score=1500, victory_points=44, ppt=250),
        TeamContext(colour="green", name="Mosswood", score=900, victory_points=30, ppt=120),
    ),
    maps=(
        MapContext(
            name="Eternal Battlegrounds", ppt={"red": 80, "blue": 90}, contested_objectives=3
        ),
    ),
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeMistral]:
    async with FakeMistral() as server:
        yield server


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _composer(fake: FakeMistral, registry: CollectorRegistry, **kw: Any) -> MistralComposer:
    composer = make_mistral_composer(
        api_key=API_KEY,
        model="mistral-small-latest",
        server_url=fake.url,
        timeout_s=kw.pop("timeout_s", 2.0),
        metrics=ComposerMetrics(registry),
        **kw,
    )
    assert composer is not None
    return composer


def _advice(**extra: Any) -> dict[str, Any]:
    return {
        "briefing": "Blue is ahead on PPT: hold EBG, push their garrison.",
        "subgroup_notes": [{"subgroup": 1, "note": "Stack on the Firebrand."}],
        "proposals": [],
        **extra,
    }


def _player_label(plan: Any, name: str) -> str:
    for label, (gi, si) in pseudonyms(plan).items():
        if plan.subgroups[gi].slots[si].player == name:
            return label
    raise AssertionError(name)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return value or 0.0


async def test_ok_answer_gives_briefing_notes_and_checked_proposals(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    plan = optimize(REQUEST).plan
    boon = _player_label(plan, "Boon.3456")
    commander = _player_label(plan, "Commander.1234")
    fake.script(
        MistralReply.ok_json(
            _advice(
                proposals=[
                    {
                        "kind": "respec",
                        "player": boon,
                        "spec": "paladin",
                        "role": "healer",
                        "reason": "x",
                    },
                    {
                        "kind": "respec",
                        "player": boon,
                        "spec": "firebrand",
                        "role": "stab_support",
                        "reason": "x",
                    },
                    {
                        "kind": "respec",
                        "player": commander,
                        "spec": "tempest",
                        "role": "healer",
                        "reason": "x",
                    },
                    {
                        "kind": "respec",
                        "player": "Player 99",
                        "spec": "tempest",
                        "role": "healer",
                        "reason": "x",
                    },
                ]
            )
        )
    )
    composer = _composer(fake, registry)
    try:
        result = await compose(
            REQUEST, match_context=MATCH, ai=composer, metrics=ComposerMetrics(CollectorRegistry())
        )
    finally:
        await composer.aclose()
    assert fake.count == 1
    assert result.ai.status == "ok"
    assert result.ai.briefing
    assert "EBG" in result.ai.briefing
    assert result.ai.subgroup_notes[0].subgroup == 1
    verdicts = result.ai.verdicts
    assert [v.accepted for v in verdicts] == [False, False, False, False]
    assert verdicts[0].code == "unknown_spec"
    assert "not a spec" in verdicts[0].reason
    assert (verdicts[1].code, verdicts[1].details) == (
        "cannot_play",
        {"player": boon, "spec": "firebrand"},
    )
    # scrapper instead of tempest loses alacrity
    assert verdicts[2].code in ("loses_squad_need", "loses_subgroup_need", "lowers_score")
    assert verdicts[2].reason.startswith("lowers coverage")
    assert verdicts[3].code == "unknown_slot"
    assert result.plan == result.optimizer_plan
    assert _value(registry, "gw2opt_mistral_requests_total", outcome="ok") == 1
    assert _value(registry, "gw2opt_mistral_tokens_total", kind="prompt") == 321
    assert _value(registry, "gw2opt_mistral_tokens_total", kind="completion") == 54


# One spec per player: the composition is fixed, only who sits where can change. The optimal
# plan puts one of each pair in each subgroup.
PAIRS_ROSTER = tuple(
    RosterPlayer(name=f"{spec.title()} {n}", specs=(spec,))
    for spec in ("firebrand", "scrapper", "chronomancer", "scourge", "virtuoso")
    for n in (1, 2)
)


def _mates(plan: Any, name: str) -> set[str]:
    """The players sharing ``name``'s subgroup (without ``name``)."""
    group = next(g for g in plan.subgroups if any(s.player == name for s in g.slots))
    return {s.player for s in group.slots if s.player != name}


async def _swap(fake: FakeMistral, registry: CollectorRegistry, first: str, second: str) -> Any:
    request = ComposeRequest(size=10, roster=PAIRS_ROSTER)
    plan = optimize(request).plan
    assert _mates(plan, first) != _mates(plan, second)  # in different subgroups
    fake.script(
        MistralReply.ok_json(
            _advice(
                proposals=[
                    {
                        "kind": "swap",
                        "player": _player_label(plan, first),
                        "other_player": _player_label(plan, second),
                    }
                ]
            )
        )
    )
    composer = _composer(fake, registry)
    try:
        return await compose(request, ai=composer)
    finally:
        await composer.aclose()


async def test_neutral_swap_is_accepted_and_applied(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    result = await _swap(fake, registry, "Firebrand 1", "Firebrand 2")
    (verdict,) = result.ai.verdicts
    assert verdict.accepted, verdict.reason
    assert verdict.score_delta == 0
    assert result.plan.score == result.optimizer_plan.score
    # Applied: each Firebrand now stands with the other's former subgroup.
    before = result.optimizer_plan
    assert _mates(result.plan, "Firebrand 1") == _mates(before, "Firebrand 2") - {"Firebrand 1"}
    assert _mates(result.plan, "Firebrand 2") == _mates(before, "Firebrand 1") - {"Firebrand 2"}


async def test_swap_that_strips_a_subgroup_of_stability_is_rejected(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    plan = optimize(ComposeRequest(size=10, roster=PAIRS_ROSTER)).plan
    # Swap Firebrand 1 with the Virtuoso of the *other* subgroup: that subgroup then has two
    # Firebrands and Firebrand 1's subgroup has none.
    virtuoso = next(
        name for name in ("Virtuoso 1", "Virtuoso 2") if "Firebrand 1" not in _mates(plan, name)
    )
    result = await _swap(fake, registry, "Firebrand 1", virtuoso)
    (verdict,) = result.ai.verdicts
    assert not verdict.accepted
    assert (verdict.code, verdict.details) == ("loses_subgroup_need", {"need": "stability"})
    assert verdict.reason == "lowers coverage: a subgroup loses stability"
    assert verdict.score_delta < 0
    assert result.plan == result.optimizer_plan


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (MistralReply.error(401), "Mistral rejected the API key"),
        (MistralReply.error(429), "rate limit"),
        (MistralReply.error(500), "server error"),
        (MistralReply.error(503), "server error"),
        (MistralReply.malformed(), "not valid JSON"),
        (MistralReply.refusal(), "declined"),
        (MistralReply.truncated(_advice()), "cut off"),
        (MistralReply.ok_json({"briefing": 42, "proposals": "swap everyone"}), "expected format"),
        (
            MistralReply.ok_json(_advice(proposals=[{"kind": "teleport", "player": "x"}])),
            "expected format",
        ),
        (MistralReply.garbage_200(), "not valid JSON"),
    ],
)
async def test_failures_fall_back_to_the_optimizer_plan_after_one_request(
    fake: FakeMistral, registry: CollectorRegistry, reply: MistralReply, reason: str
) -> None:
    fake.script(reply)
    metrics = ComposerMetrics(registry)
    composer = _composer(fake, CollectorRegistry(), retries=1)
    try:
        result = await compose(REQUEST, ai=composer, metrics=metrics)
    finally:
        await composer.aclose()
    assert fake.count == 1
    assert result.ai.status == "unavailable"
    assert result.ai.note is not None
    assert result.ai.note.startswith("AI unavailable: ")
    assert reason in result.ai.note
    assert result.plan == result.optimizer_plan
    assert (
        sum(
            _value(registry, "gw2opt_composer_ai_fallbacks_total", reason=r)
            for r in (
                "unauthorized",
                "rate_limited",
                "server_error",
                "malformed_json",
                "refusal",
                "truncated",
                "schema_mismatch",
            )
        )
        == 1
    )


async def test_a_hanging_mistral_cannot_break_the_deadline(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    fake.script(MistralReply.slow(5.0))
    composer = _composer(fake, registry, timeout_s=0.5)
    started = time.monotonic()
    try:
        result = await compose(REQUEST, ai=composer, deadline_s=3.0)
    finally:
        await composer.aclose()
    assert time.monotonic() - started < 2.0
    assert fake.count == 1
    assert result.ai.note == "AI unavailable: Mistral did not answer in time"
    assert _value(registry, "gw2opt_mistral_requests_total", outcome="timeout") == 1


async def test_deadline_shorter_than_the_client_timeout_wins(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    fake.script(MistralReply.slow(5.0))
    composer = _composer(fake, registry, timeout_s=30.0)
    started = time.monotonic()
    try:
        result = await compose(REQUEST, ai=composer, deadline_s=1.5)
    finally:
        await composer.aclose()
    assert time.monotonic() - started < 2.0
    assert result.ai.status == "unavailable"


async def test_unreachable_server_is_retried_once_at_most(registry: CollectorRegistry) -> None:
    composer = make_mistral_composer(
        api_key=API_KEY, model="m", server_url="http://127.0.0.1:9", timeout_s=1.0, retries=1,
        metrics=ComposerMetrics(registry),
    )  # fmt: skip
    assert composer is not None
    try:
        result = await compose(REQUEST, ai=composer)
    finally:
        await composer.aclose()
    assert result.ai.note == "AI unavailable: Mistral could not be reached"
    assert _value(registry, "gw2opt_mistral_requests_total", outcome="unreachable") == 2


async def test_no_key_means_no_ai_and_no_request(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    assert make_mistral_composer(api_key=None, model="m", server_url=fake.url) is None
    assert make_mistral_composer(api_key="", model="m", server_url=fake.url) is None
    result = await compose(REQUEST, ai=None, metrics=ComposerMetrics(registry))
    assert result.ai.status == "off"
    assert result.ai.note == "AI unavailable: no Mistral API key configured"
    assert fake.count == 0
    assert _value(registry, "gw2opt_composer_ai_fallbacks_total", reason="no_key") == 1


async def test_prompt_carries_plan_and_match_but_no_names_ids_or_secrets(
    fake: FakeMistral, registry: CollectorRegistry
) -> None:
    roster = (*ROSTER[:4], RosterPlayer(name=f"<@{DISCORD_ID}>", specs=("virtuoso",)))
    request = ComposeRequest(size=5, roster=roster)
    fake.script(MistralReply.ok_json(_advice()))
    composer = _composer(fake, registry)
    try:
        await compose(request, match_context=MATCH, ai=composer)
    finally:
        await composer.aclose()
    (body,) = fake.requests
    text = "\n".join(fake.prompts())
    assert body["model"] == "mistral-small-latest"
    assert body["response_format"]["type"] == "json_schema"
    for secret in (API_KEY, DISCORD_ID, "Commander.1234", "Healer.5678"):
        assert secret not in text
    assert "Player 1" in text
    assert "firebrand" in text
    assert "Rall's Rest" in text
    assert "Eternal Battlegrounds" in text
    assert '"ahead":"blue"' in text
    assert fake.headers[0]["Authorization"] == f"Bearer {API_KEY}"

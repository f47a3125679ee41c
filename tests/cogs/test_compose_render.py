"""The /compose embeds as pure functions: layout, Discord's limits, AI outcomes, unmet needs."""

from __future__ import annotations

import random
from datetime import timedelta

import discord
import pytest

from cogs.compose_context import build_match_context
from cogs.compose_render import (
    MAX_EMBEDS,
    embeds_length,
    match_line,
    render_plan,
)
from services.clock import ManualClock
from services.composer import (
    AIOutcome,
    AIProposal,
    ComposeRequest,
    ComposeResult,
    MapContext,
    MatchContext,
    ProposalVerdict,
    RosterPlayer,
    TeamContext,
    compose,
    default_catalogue,
)
from services.composer.answer import SubgroupNote
from services.gw2.models import Match
from services.i18n import Message
from services.match_analysis import analyse_match
from tests.fakes.gw2_api import FakeWorld

CATALOGUE = default_catalogue()
TOO_SLOW = "{name}: the GW2 API was too slow, flexible slot."


async def plan(
    size: int, roster: tuple[RosterPlayer, ...] = (), mode: str = "zerg"
) -> ComposeResult:
    return await compose(ComposeRequest(size=size, mode=mode, roster=roster))


def text_of(embeds: list[discord.Embed]) -> str:
    parts: list[str] = []
    for embed in embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
        parts += [f"{f.name}\n{f.value}" for f in embed.fields]
    return "\n".join(parts)


def assert_within_discord_limits(embeds: list[discord.Embed]) -> None:
    assert 1 <= len(embeds) <= MAX_EMBEDS
    assert embeds_length(embeds) <= 6000
    for embed in embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        for item in embed.fields:
            assert len(item.name or "") <= 256
            assert 0 < len(item.value or "") <= 1024


async def test_fifteen_players_get_a_summary_and_one_embed_per_subgroup() -> None:
    result = await plan(15)
    embeds = render_plan(result, catalogue=CATALOGUE)
    assert len(embeds) == 4
    assert embeds[0].title == "Squad plan · Zerg · 15 players"
    for number, embed in enumerate(embeds[1:], start=1):
        assert embed.title is not None
        assert embed.title.startswith(f"Subgroup {number} · 5 players")
        assert "Firebrand" in (embed.description or "")
        assert "**Covered:** stability (" in (embed.description or "")
    assert_within_discord_limits(embeds)


async def test_fifty_players_fit_in_ten_embeds_and_six_thousand_characters() -> None:
    result = await plan(50)
    embeds = render_plan(result, catalogue=CATALOGUE)
    assert_within_discord_limits(embeds)
    subgroup_fields = [f for e in embeds[1:] for f in e.fields]
    assert [f.name.split(" · ")[0] for f in subgroup_fields if f.name] == [
        f"Subgroup {n}" for n in range(1, 11)
    ]


@pytest.mark.parametrize("size", [1, 5, 23, 44, 46, 50])
async def test_long_names_long_ai_text_and_many_notes_still_fit(size: int) -> None:
    rng = random.Random(size)
    specs = sorted(CATALOGUE.specs)
    roster = tuple(
        RosterPlayer(name=f"{i:02d}" + "W" * 62, specs=tuple(rng.sample(specs, 4)))
        for i in range(size)
    )
    result = await plan(size, roster)
    verdicts = tuple(
        ProposalVerdict(
            proposal=AIProposal(
                kind="respec", player=f"Player {i}", spec="scrapper", role="healer"
            ),
            accepted=False,
            code="unknown_spec",
            details={"typed": "x" * 250},
        )
        for i in range(1, 6)
    )
    ai = AIOutcome(
        status="ok",
        briefing="B" * 1200,
        subgroup_notes=tuple(SubgroupNote(subgroup=n, note="N" * 400) for n in range(1, 11)),
        verdicts=verdicts,
    )
    result = result.model_copy(update={"ai": ai})
    notes = [Message(TOO_SLOW, name=f"Member {i} " + "n" * 200) for i in range(6)]
    embeds = render_plan(result, catalogue=CATALOGUE, notes=notes, alternative=3)
    assert_within_discord_limits(embeds)
    text = text_of(embeds)
    # Every player is still listed (possibly shortened), and the slot count matches the size.
    assert text.count("**") // 2 >= size
    for i in range(size):
        assert f"{i:02d}WWW" in text


async def test_unmet_needs_are_listed_with_their_reason() -> None:
    roster = (
        RosterPlayer(name="Ann", specs=("herald",)),
        RosterPlayer(name="Bob", specs=("herald",)),
        RosterPlayer(name="Cid", specs=("reaper",)),
        RosterPlayer(name="Dee", specs=("weaver",)),
        RosterPlayer(name="Eve", specs=("deadeye",)),
    )
    result = await plan(5, roster)
    summary = render_plan(result, catalogue=CATALOGUE)[0]
    unmet = next(f for f in summary.fields if f.name == "Unmet needs")
    assert "Subgroup 1 · stability:" in (unmet.value or "")
    reason = next(u.reason for u in result.plan.unmet if u.need == "stability")
    assert reason in (unmet.value or "")


async def test_ai_briefing_notes_and_proposals_use_the_players_names() -> None:
    roster = tuple(
        RosterPlayer(name=name, specs=("firebrand", "scrapper", "herald", "scourge"))
        for name in ("Ann", "Bob", "Cid", "Dee", "Eve")
    )
    result = await plan(5, roster)
    first = result.optimizer_plan.subgroups[0].slots[0].player
    ai = AIOutcome(
        status="ok",
        briefing="Push Bay, keep stab up.",
        subgroup_notes=(SubgroupNote(subgroup=1, note="Stack on the firebrand."),),
        verdicts=(
            ProposalVerdict(
                proposal=AIProposal(
                    kind="respec", player="Player 1", spec="scrapper", role="healer"
                ),
                accepted=False,
                code="loses_subgroup_need",
                details={"need": "stability"},
                score_delta=-60,
            ),
            ProposalVerdict(
                proposal=AIProposal(kind="swap", player="Player 1", other_player="Player 2"),
                accepted=False,
                code="same_subgroup",
                details={"player": "Player 1", "other": "Player 2"},
            ),
        ),
    )
    embeds = render_plan(result.model_copy(update={"ai": ai}), catalogue=CATALOGUE)
    assert embeds[0].description == "🤖 Push Bay, keep stab up."
    proposals = next(f for f in embeds[0].fields if f.name == "AI proposals").value or ""
    assert f"❌ {first} → Scrapper (healer) — rejected: lowers coverage" in proposals
    assert "swap" in proposals
    assert "Player 1" not in proposals
    assert "🤖 Stack on the firebrand." in (embeds[1].description or "")


async def test_proposal_reasons_and_open_slots_are_in_the_readers_language() -> None:
    roster = tuple(
        RosterPlayer(name=name, specs=("firebrand", "scrapper")) for name in ("Ann", "Bob")
    )
    result = await plan(5, roster)  # two players, three open slots, one subgroup
    ai = AIOutcome(
        status="ok",
        briefing="Tenez la baie.",
        verdicts=(
            ProposalVerdict(
                proposal=AIProposal(kind="swap", player="Player 1", other_player="Open slot 1"),
                accepted=False,
                code="same_subgroup",
                details={"player": "Player 1", "other": "Open slot 1"},
            ),
            ProposalVerdict(
                proposal=AIProposal(kind="respec", player="Player 2", spec="scrapper"),
                accepted=False,
                code="cannot_play",
                details={"player": "Player 2", "spec": "herald"},
            ),
            ProposalVerdict(
                proposal=AIProposal(kind="respec", player="Player 1", spec="firebrand"),
                accepted=True,
                code="improves_score",
                details={"delta": 40},
                score_delta=40,
            ),
        ),
    )
    embeds = render_plan(
        result.model_copy(update={"ai": ai}),
        catalogue=CATALOGUE,
        locale="fr",
        spec_names={"herald": "Héraut", "scrapper": "Mécatronicien", "firebrand": "Pyromancien"},
    )
    proposals = next(f for f in embeds[0].fields if f.name == "Propositions de l'IA").value
    lines = (proposals or "").splitlines()
    slots = result.optimizer_plan.subgroups[0].slots
    first, second = (s.player for s in slots if s.player)  # Player 1, Player 2
    opened = next(s for s in slots if s.player is None)
    assert lines[0] == (
        f"❌ échanger {first} ↔ Place libre 1 ({opened.spec_name}) — rejetée : {first} et "
        f"Place libre 1 ({opened.spec_name}) sont déjà dans le même sous-groupe"
    )
    assert lines[1].endswith(f"rejetée : {second} ne peut pas jouer Héraut")
    assert lines[2].endswith("appliquée : améliore le score de 40")
    assert "Open slot" not in proposals
    assert "Player" not in proposals


async def test_ai_unavailable_note_is_shown_and_off_goes_to_the_footer() -> None:
    result = await plan(10)
    assert result.ai.status == "off"
    off = render_plan(result, catalogue=CATALOGUE)[0]
    assert "AI unavailable: no Mistral API key configured" in (off.footer.text or "")
    down = result.model_copy(
        update={
            "ai": AIOutcome(status="unavailable", note="AI unavailable: Mistral had a server error")
        }
    )
    summary = render_plan(down, catalogue=CATALOGUE)[0]
    assert summary.description == "⚠️ AI unavailable: Mistral had a server error"


async def test_roster_bench_and_reroll_number_are_shown() -> None:
    roster = tuple(RosterPlayer(name=f"P{i}", specs=("herald",)) for i in range(7))
    result = await plan(5, roster)
    summary = render_plan(result, catalogue=CATALOGUE, alternative=1)[0]
    assert summary.title == "Squad plan · Zerg · 5 players · alternative 2"
    bench = next(f for f in summary.fields if f.name == "Bench")
    assert len((bench.value or "").split(", ")) == 2


def test_match_line_names_our_place_the_leader_and_the_fights() -> None:
    match = MatchContext(
        our_colour="green",
        teams=(
            TeamContext(colour="red", name="Moogooloo", victory_points=40, ppt=200),
            TeamContext(colour="green", name="Tombs of Drascir", victory_points=35, ppt=245),
            TeamContext(colour="blue", name="Mosswood", victory_points=30, ppt=100),
        ),
        maps=(MapContext(name="Eternal Battlegrounds", contested_objectives=3),),
        skirmish_ends_in_minutes=40,
    )
    assert match_line(match) == (
        "Live match: Tombs of Drascir is 2nd (Green, 245 PPT) · Moogooloo (Red) leads · "
        "fights on Eternal Battlegrounds · skirmish ends in 40 min"
    )
    assert "· combats sur Champs de bataille éternels ·" in (match_line(match, "fr") or "")
    assert match_line(MatchContext()) is None


def test_match_context_from_a_live_match() -> None:
    world = FakeWorld(ManualClock(), seed=3)
    fake_match = world.match_for(11001)
    assert fake_match is not None
    match = Match.model_validate(fake_match.to_json())
    now = world.now()
    summary = analyse_match(match, now=now)
    context = build_match_context(match, summary, team_id=11001, now=now, age_seconds=12)
    assert context.our_colour == summary.colour_of(11001)
    assert {t.colour for t in context.teams} == {"red", "green", "blue"}
    assert sum(t.ppt for t in context.teams) == sum(sum(m.ppt.values()) for m in context.maps)
    assert len(context.maps) == 4
    assert context.data_age_seconds == 12
    flipped = [
        o
        for m in match.maps
        for o in m.objectives
        if o.last_flipped is not None and now - o.last_flipped <= timedelta(minutes=10)
    ]
    assert sum(m.contested_objectives for m in context.maps) == len(flipped)


async def test_player_names_are_shown_as_typed_not_as_markdown() -> None:
    roster = (RosterPlayer(name="*Star*_x", specs=("firebrand",)),)
    result = await plan(5, roster)
    embeds = render_plan(result, catalogue=CATALOGUE, notes=[Message(TOO_SLOW, name="__Bob__")])
    assert "\\*Star\\*\\_x" in (embeds[1].description or "")
    assert "\\_\\_Bob\\_\\_" in (embeds[0].description or "")

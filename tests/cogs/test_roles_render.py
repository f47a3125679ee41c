"""What /roles shows, rendered without Discord."""

from __future__ import annotations

from cogs import roles_render as render
from services.roles import MAX_RULES_PER_GUILD, ConditionKind, RoleRule, SyncReport

RULES = [
    RoleRule(1, 10, ConditionKind.VERIFIED),
    RoleRule(2, 20, ConditionKind.WVW_TEAM, "12008", "Frost Citadel", requires_role_id=10),
]


def test_rules_list_their_conditions_requirements_and_unmanageable_roles() -> None:
    embed = render.rules_embed(
        RULES,
        guild_name="Vigil Keep",
        unmanageable=frozenset({20}),
        nickname_suffix=True,
        strict=False,
    )
    assert embed.description == (
        "`#1` <@&10> ← linked a valid GW2 API key\n"
        "`#2` <@&20> ← WvW team is **Frost Citadel** (only with <@&10>)"
    )
    fields = {f.name: f.value for f in embed.fields}
    assert "drag my role above it" in (fields["⚠️ Can't manage"] or "")
    assert "Nickname suffix (`Name | Account.1234`): on" in (fields["Options"] or "")
    assert embed.footer.text == f"2 of {MAX_RULES_PER_GUILD} rules · synced every hour"


def test_preview_lists_gains_and_losses_and_says_nothing_changed() -> None:
    text = render.preview_text(
        [
            render.PreviewLine(1, frozenset({10}), frozenset()),
            render.PreviewLine(2, frozenset(), frozenset({20})),
            render.PreviewLine(3, frozenset(), frozenset()),
        ],
        checked=3,
        unknown=1,
        unmanageable=[],
        outage=True,
    )
    lines = text.splitlines()
    assert lines[0] == "**Preview — nothing was changed.**"
    assert "<@1>: +<@&10>" in lines
    assert "<@2>: −<@&20>" in lines
    assert not any(line.startswith("<@3>") for line in lines)
    assert "would remove no role" in text
    assert "1 member could not be checked right now" in text


def test_sync_summary_counts_and_explains_refusals() -> None:
    report = SyncReport(added=3, removed=1, refused=2, outage_batches=1)
    text = render.sync_summary(report, members=12)
    assert text.startswith("Synced 12 linked members — roles given: 3, removed: 1.")
    assert "no role was removed there" in text
    assert "2 changes failed" in text

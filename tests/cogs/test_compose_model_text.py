"""Mistral's text is shown as plain sentences: no links, mentions or Markdown, also when posted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.composer.plain_text import plain_text
from tests.cogs.test_compose_e2e import embed_text, world
from tests.fakes.mistral import FakeMistral, MistralReply

HOSTILE_BRIEFING = (
    "# Big news\n**Push** the hills with [Free gems](https://evil.example/claim) @everyone "
    "<@&4242> and <@!777> in <#99>; see www.evil.example or discord.gg/evil. ||spoiler|| "
    "`code` ~~strike~~ > quoted"
)


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("[Free gems](https://x.example/a) today", "Free gems today"),
        ("Ping @everyone and @here now", "Ping everyone and here now"),
        ("Role <@&123>, user <@456>, <@!789>, channel <#1>.", "Role, user,, channel."),
        ("# Title\n> quote\n-# small", "Title\nquote\nsmall"),
        ("**bold** __under__ *it* _it_ ~~s~~ ||sp|| `c`", "bold under it it s sp c"),
        ("Go to https://x.example/p?q=1 now", "Go to now"),
        ("Keep support_tempest alive; 4-2 is fine.", "Keep support_tempest alive; 4-2 is fine."),
        ("<:pog:123> <a:spin:456> </wvw match:789> <t:1700000000:R>", ""),
    ],
)
def test_plain_text_keeps_sentences_and_drops_control(raw: str, plain: str) -> None:
    assert plain_text(raw) == plain


async def test_model_links_mentions_and_markdown_never_reach_the_embed_or_channel(
    tmp_path: Path,
) -> None:
    advice = {
        "briefing": HOSTILE_BRIEFING,
        "subgroup_notes": [
            {"subgroup": 1, "note": "**Tag up** at [spawn](http://x.example) <@&1>"}
        ],
    }
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json(advice))
        async with world(tmp_path, mistral=fake) as w:
            message = await w.compose(size=5)
            click = await w.discord.click(w.alice, message, "compose:post")
            await click.wait_final_message()
            (public,) = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    briefing = plain_text(HOSTILE_BRIEFING)
    assert briefing == (
        "Big news\nPush the hills with Free gems everyone and in; see or. "
        "spoiler code strike > quoted"
    )
    for shown in (message, public):
        assert f"🤖 {briefing}" in shown.embeds[0]["description"]
        assert "🤖 Tag up at spawn\n" in json.loads(embed_text(shown))[1]["description"] + "\n"
        assert "](" not in embed_text(shown)
        for forbidden in ("http", "www.", "discord.gg", "@everyone", "<@&", "<#", "||", "~~"):
            assert forbidden not in embed_text(shown), forbidden
    assert "@" not in public.content.replace(f"<@{w.alice.id}>", "")

"""Through the fake Discord: each "Reroll alternatives" shows a plan no better than the last."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cogs.test_compose_e2e import reroll_id, world
from tests.fakes.discord import FakeMessage


def shown_score(message: FakeMessage) -> int:
    found = re.search(r"· score (\d+)", json.dumps(message.embeds, ensure_ascii=False))
    assert found is not None
    return int(found.group(1))


async def test_rerolls_show_scores_best_first(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=25, mode="zerg")
        scores = [shown_score(message)]
        for _ in range(3):
            click = await w.discord.click(w.alice, message, reroll_id(message))
            await click.wait_edit()
            scores.append(shown_score(message))
    assert scores == sorted(scores, reverse=True), scores
    assert len(scores) == 4

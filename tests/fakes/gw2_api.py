"""A fake GW2 API: a small, scriptable WvW world served by aiohttp on 127.0.0.1.

In tests::

    async with FakeGW2API() as fake:
        client = GW2Client(session, base_url=fake.base_url, clock=clock)
        fake.add_key(KEY, permissions=["account", "wvw"], account_name="Ann.1234", team_id=11001)
        fake.script("/v2/wvw/matches", Fault(status=502, text="ErrTimeout"))

As a process (benchmarks)::

    python -m tests.fakes.gw2_api --port 8099 [--rate-limit]

What it serves (everything the client uses): ``/v2/build``, ``/v2/wvw/matches`` (``?world=``,
``?id=``, ``?ids=``, ``/{id}``), ``/v2/wvw/matches/overview``, ``/v2/wvw/objectives``,
``/v2/worlds``, ``/v2/wvw/timers/{lockout,teamassignment}``, ``/v2/tokeninfo``, ``/v2/account``,
``/v2/account/wvw``, ``/v2/characters`` (+ ``?ids=all``, ``/{name}/core``, ``/{name}/buildtabs``),
``/v2/specializations``, ``/v2/professions``, ``/v2/guild/{id}``, ``/v2/wvw/guilds/{na,eu}``.

The world (:class:`FakeWorld`) is generated from a seed and internally consistent: 4 NA matches
(teams 11001–11012) and 5 EU matches (12001–12015), or legacy worlds with ``legacy_worlds=True``;
4 maps with their real objective ids, types and names; skirmish, map and match scores that add up;
victory points from finished skirmishes. Tests change it through :class:`FakeMatch` methods
(``flip``, ``set_scores``, ``add_kills``, ``tick``, ``next_skirmish``) and ``FakeWorld.roll_week``.

Faults are scripted per route (:class:`Fault`): a status and ``{"text": ...}`` body, a delay, 429
with ``Retry-After``, truncated JSON, 206 partial content. ``requests`` counts requests per route;
an optional token bucket answers 429 like the real API when exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from services.clock import Clock, ManualClock, SystemClock

COLOURS = ("red", "blue", "green")
OWNER = {"red": "Red", "blue": "Blue", "green": "Green"}
MAP_IDS = {"Center": 38, "RedHome": 1099, "BlueHome": 96, "GreenHome": 95}
HOME_COLOUR = {"RedHome": "red", "BlueHome": "blue", "GreenHome": "green"}
SKIRMISH = timedelta(hours=2)
VP_BY_RANK = (5, 4, 3)
# points_tick by objective type and upgrade tier 0-3.
POINTS = {
    "Camp": (2, 2, 3, 3),
    "Tower": (4, 6, 8, 10),
    "Keep": (8, 12, 16, 20),
    "Castle": (12, 18, 24, 30),
}

TEAMS_NA = {
    11001: "Moogooloo", 11002: "Rall's Rest", 11003: "Domain of Torment", 11004: "Yohlon Haven",
    11005: "Tombs of Drascir", 11006: "Hall of Judgment", 11007: "Throne of Balthazar",
    11008: "Dwayna's Temple", 11009: "Abaddon's Prison", 11010: "Cathedral of Blood",
    11011: "Lutgardis Conservatory", 11012: "Mosswood",
}  # fmt: skip
TEAMS_EU = {
    12001: "Skrittsburgh", 12002: "Fortune's Vale", 12003: "Silent Woods", 12004: "Ettin's Back",
    12005: "Domain of Anguish", 12006: "Palawadan", 12007: "Bloodstone Gulch",
    12008: "Frost Citadel", 12009: "Dragrimmar", 12010: "Grenth's Door", 12011: "Mirror of Lyssa",
    12012: "Melandru's Dome", 12013: "Kormir's Library", 12014: "Great House Aviary",
    12015: "Bava Nisos",
}  # fmt: skip
LEGACY_WORLDS = {
    1001: "Anvil Rock", 1002: "Borlis Pass", 1003: "Yak's Bend", 1004: "Henge of Denravi",
    1005: "Maguuma", 1006: "Sorrow's Furnace", 1007: "Gate of Madness", 1008: "Jade Quarry",
    1009: "Fort Aspenwood", 1010: "Ehmry Bay", 1011: "Stormbluff Isle", 1012: "Darkhaven",
    1013: "Sanctum of Rall", 1014: "Crystal Desert", 1015: "Isle of Janthir",
    1016: "Sea of Sorrows", 1017: "Tarnished Coast", 1018: "Northern Shiverpeaks",
    1019: "Blackgate", 1020: "Ferguson's Crossing", 1021: "Dragonbrand", 1022: "Kaineng",
    1023: "Devona's Rest", 1024: "Eredon Terrace",
    2001: "Fissure of Woe", 2002: "Desolation", 2003: "Gandara", 2004: "Blacktide",
    2005: "Ring of Fire", 2006: "Underworld", 2007: "Far Shiverpeaks", 2008: "Whiteside Ridge",
    2009: "Ruins of Surmia", 2010: "Seafarer's Rest", 2011: "Vabbi", 2012: "Piken Square",
    2013: "Aurora Glade", 2014: "Gunnar's Hold", 2101: "Jade Sea [FR]", 2102: "Fort Ranik [FR]",
    2103: "Augury Rock [FR]", 2104: "Vizunah Square [FR]", 2105: "Arborstone [FR]",
    2201: "Kodash [DE]", 2202: "Riverside [DE]", 2203: "Elona Reach [DE]",
    2204: "Abaddon's Mouth [DE]", 2205: "Drakkar Lake [DE]", 2206: "Miller's Sound [DE]",
    2207: "Dzagonur [DE]", 2301: "Baruch Bay [SP]",
}  # fmt: skip

# Objective ids (the part after "<map id>-"), types, English names and sector ids per map.
# The game's own French, German and Spanish names of the Eternal Battlegrounds objectives, served
# for ``lang=fr|de|es`` (the real API localises every name; other objectives stay English here).
OBJECTIVE_NAMES_I18N: dict[str, tuple[str, str, str]] = {
    "Overlook": ("Belvédère", "Aussichtspunkt", "Mirador"),
    "Valley": ("Vallée", "Tal", "Valle"),
    "Lowlands": ("Basses terres", "Tiefland", "Tierras bajas"),
    "Golanta Clearing": ("Clairière de Golanta", "Golanta-Lichtung", "Claro Golanta"),
    "Pangloss Rise": ("Montée de Pangloss", "Pangloss-Anhöhe", "Colina Pangloss"),
    "Speldan Clearcut": ("Forêt rasée de Speldan", "Speldan-Kahlschlag", "Claro Espeldia"),
    "Danelon Passage": ("Passage Danelon", "Danelon-Passage", "Pasaje Danelon"),
    "Umberglade Woods": ("Bois d'Ombreclair", "Umberlichtung-Forst", "Bosques Clarosombra"),
    "Stonemist Castle": ("Château Brumepierre", "Schloss Steinnebel", "Castillo Piedraniebla"),
    "Rogue's Quarry": ("Carrière du voleur", "Schurkenbruch", "Cantera del Pícaro"),
    "Aldon's Ledge": ("Corniche d'Aldon", "Aldons Vorsprung", "Cornisa de Aldon"),
    "Wildcreek Run": ("Piste du ruisseau sauvage", "Wildbach-Strecke", "Pista Arroyosalvaje"),
    "Jerrifer's Slough": ("Bourbier de Jerrifer", "Jerrifers Sumpfloch", "Cenagal de Jerrifer"),
    "Klovan Gully": ("Petit ravin de Klovan", "Klovan-Senke", "Barranco Klovan"),
    "Langor Gulch": ("Ravin de Langor", "Langor-Schlucht", "Barranco Langor"),
    "Quentin Lake": ("Lac Quentin", "Quentin-See", "Lago Quentin"),
    "Mendon's Gap": ("Faille de Mendon", "Mendons Spalt", "Zanja de Mendon"),
    "Anzalias Pass": ("Col d'Anzalias", "Anzalias-Pass", "Paso Anzalias"),
    "Ogrewatch Cut": ("Percée de Gardogre", "Ogerwacht-Kanal", "Tajo de la Guardia del Ogro"),
    "Veloka Slope": ("Flanc de Veloka", "Veloka-Hang", "Pendiente Veloka"),
    "Durios Gulch": ("Ravin de Durios", "Durios-Schlucht", "Barranco Durios"),
    "Bravost Escarpment": ("Falaise de Bravost", "Bravost-Abhang", "Escarpadura Bravost"),
}
_I18N_INDEX = {"fr": 0, "de": 1, "es": 2}

OBJECTIVES: dict[str, tuple[tuple[int, str, str, int], ...]] = {
    "Center": (
        (1, "Keep", "Overlook", 843),
        (2, "Keep", "Valley", 834),
        (3, "Keep", "Lowlands", 848),
        (4, "Camp", "Golanta Clearing", 849),
        (5, "Camp", "Pangloss Rise", 846),
        (6, "Camp", "Speldan Clearcut", 844),
        (7, "Camp", "Danelon Passage", 837),
        (8, "Camp", "Umberglade Woods", 835),
        (9, "Castle", "Stonemist Castle", 833),
        (10, "Camp", "Rogue's Quarry", 851),
        (11, "Tower", "Aldon's Ledge", 882),
        (12, "Tower", "Wildcreek Run", 885),
        (13, "Tower", "Jerrifer's Slough", 883),
        (14, "Tower", "Klovan Gully", 884),
        (15, "Tower", "Langor Gulch", 887),
        (16, "Tower", "Quentin Lake", 889),
        (17, "Tower", "Mendon's Gap", 890),
        (18, "Tower", "Anzalias Pass", 893),
        (19, "Tower", "Ogrewatch Cut", 892),
        (20, "Tower", "Veloka Slope", 891),
        (21, "Tower", "Durios Gulch", 888),
        (22, "Tower", "Bravost Escarpment", 886),
        (123, "Mercenary", "Molevekian Delve", 847),
        (124, "Spawn", "Hill", 845),
        (125, "Mercenary", "Orgath Uplands", 841),
        (126, "Mercenary", "Darkrait Inlet", 842),
        (130, "Spawn", "Hill", 836),
        (131, "Spawn", "Hill", 850),
    ),
    "RedHome": (
        (99, "Camp", "Hamm's Lab", 1314),
        (100, "Camp", "Bauer Farmstead", 1280),
        (101, "Camp", "McLain's Encampment", 1286),
        (102, "Tower", "O'del Academy", 1352),
        (104, "Tower", "Eternal Necropolis", 1308),
        (105, "Tower", "Crankshaft Depot", 1354),
        (106, "Keep", "Blistering Undercroft", 1351),
        (107, "Spawn", "Border", 1311),
        (108, "Spawn", "Border", 1350),
        (109, "Camp", "Roy's Refuge", 1322),
        (110, "Tower", "Parched Outpost", 1277),
        (113, "Keep", "Stoic Rampart", 1303),
        (114, "Keep", "Osprey's Palace", 1300),
        (115, "Camp", "Boettiger's Hideaway", 1316),
        (116, "Camp", "Dustwhisper Well", 1296),
        (117, "Spawn", "Citadel", 1343),
        (118, "Ruins", "Higgins's Ascent", 1420),
        (119, "Ruins", "Bearce's Dwelling", 1421),
        (120, "Ruins", "Zak's Overlook", 1441),
        (121, "Ruins", "Darra's Maze", 1444),
        (122, "Ruins", "Tilly's Encampment", 1436),
    ),
    "BlueHome": (
        (32, "Keep", "Askalion Hills", 979),
        (33, "Keep", "Ascension Bay", 973),
        (34, "Camp", "Champion's Demesne", 984),
        (35, "Tower", "Redbriar", 990),
        (36, "Tower", "Greenlake", 989),
        (37, "Keep", "Garrison", 976),
        (38, "Tower", "Woodhaven", 988),
        (39, "Camp", "The Spiritholme", 978),
        (40, "Tower", "Dawn's Eyrie", 987),
        (50, "Camp", "Greenwater Lowlands", 983),
        (51, "Camp", "Stargrove", 986),
        (52, "Camp", "Godslore", 991),
        (53, "Camp", "Redvale Refuge", 985),
        (62, "Ruins", "Temple of Lost Prayers", 1381),
        (63, "Ruins", "Battle's Hollow", 1386),
        (64, "Ruins", "Bauer's Estate", 1374),
        (65, "Ruins", "Orchard Overlook", 1384),
        (66, "Ruins", "Carver's Ascent", 1382),
        (103, "Spawn", "Border", 974),
        (111, "Spawn", "Citadel", 980),
        (112, "Spawn", "Border", 977),
    ),
    "GreenHome": (
        (32, "Keep", "Shadaran Hills", 996),
        (33, "Keep", "Dreadfall Bay", 999),
        (34, "Camp", "Hero's Lodge", 1004),
        (35, "Tower", "Bluebriar", 1009),
        (36, "Tower", "Redlake", 1008),
        (37, "Keep", "Garrison", 992),
        (38, "Tower", "Sunnyhill", 1007),
        (39, "Camp", "The Titanpaw", 998),
        (40, "Tower", "Cragtop", 1006),
        (50, "Camp", "Redwater Lowlands", 1003),
        (51, "Camp", "Foghaven", 995),
        (52, "Camp", "Faithleap", 1010),
        (53, "Camp", "Bluevale Refuge", 1005),
        (62, "Ruins", "Temple of the Fallen", 1376),
        (63, "Ruins", "Norfolk's Hollow", 1383),
        (64, "Ruins", "Gertzz's Estate", 1388),
        (65, "Ruins", "Cohen's Overlook", 1377),
        (66, "Ruins", "Patrick's Ascent", 1380),
        (103, "Spawn", "Border", 997),
        (111, "Spawn", "Citadel", 993),
        (112, "Spawn", "Border", 1000),
    ),
}

# Specializations: id -> (name, profession, elite). Core lines first, then elite specs.
# Some elite specs' names as the French, German and Spanish game clients show them, served for
# ``/v2/specializations?lang=fr|de|es`` (the others stay English in this fake).
SPECIALIZATION_NAMES_I18N: dict[int, tuple[str, str, str]] = {
    62: ("Incendiaire", "Feuerbrand", "Abrasador"),
    43: ("Mécatronicien", "Schrotter", "Chatarrero"),
    60: ("Fléau", "Pestbringer", "Azotador"),
    52: ("Héraut", "Herold", "Heraldo"),
    48: ("Cataclyste", "Sturmbeschwörer", "Tempestad"),
    40: ("Chronomancien", "Chronomant", "Cronomante"),
    5: ("Druide", "Druide", "Druida"),
    34: ("Faucheur", "Schnitter", "Segador"),
    61: ("Brise-sort", "Bannbrecher", "Rompehechizos"),
    27: ("Draconnier", "Drachenjäger", "Cazadragones"),
    56: ("Tissesort", "Weber", "Tejedor"),
    7: ("Fracasseur", "Draufgänger", "Temerario"),
}

# The nine professions (``/v2/professions``: the id is the English name) and their names in the
# French, German and Spanish game clients, served for ``lang=fr|de|es``.
PROFESSION_NAMES_I18N: dict[str, tuple[str, str, str]] = {
    "Guardian": ("Gardien", "Wächter", "Guardián"),
    "Warrior": ("Guerrier", "Krieger", "Guerrero"),
    "Revenant": ("Revenant", "Widergänger", "Retornado"),
    "Engineer": ("Ingénieur", "Ingenieur", "Ingeniero"),
    "Ranger": ("Rôdeur", "Waldläufer", "Guardabosques"),
    "Thief": ("Voleur", "Dieb", "Ladrón"),
    "Elementalist": ("Élémentaliste", "Elementarmagier", "Elementalista"),
    "Mesmer": ("Envoûteur", "Mesmer", "Hipnotizador"),
    "Necromancer": ("Nécromant", "Nekromant", "Nigromante"),
}

SPECIALIZATIONS: dict[int, tuple[str, str, bool]] = {
    42: ("Zeal", "Guardian", False), 16: ("Radiance", "Guardian", False),
    13: ("Valor", "Guardian", False), 49: ("Honor", "Guardian", False),
    46: ("Virtues", "Guardian", False),
    4: ("Strength", "Warrior", False), 36: ("Arms", "Warrior", False),
    22: ("Defense", "Warrior", False), 11: ("Tactics", "Warrior", False),
    51: ("Discipline", "Warrior", False),
    14: ("Corruption", "Revenant", False), 9: ("Retribution", "Revenant", False),
    12: ("Salvation", "Revenant", False), 3: ("Invocation", "Revenant", False),
    15: ("Devastation", "Revenant", False),
    6: ("Explosives", "Engineer", False), 38: ("Firearms", "Engineer", False),
    47: ("Inventions", "Engineer", False), 29: ("Alchemy", "Engineer", False),
    21: ("Tools", "Engineer", False),
    8: ("Marksmanship", "Ranger", False), 30: ("Skirmishing", "Ranger", False),
    33: ("Wilderness Survival", "Ranger", False), 25: ("Nature Magic", "Ranger", False),
    32: ("Beastmastery", "Ranger", False),
    28: ("Deadly Arts", "Thief", False), 35: ("Critical Strikes", "Thief", False),
    20: ("Shadow Arts", "Thief", False), 54: ("Acrobatics", "Thief", False),
    44: ("Trickery", "Thief", False),
    31: ("Fire", "Elementalist", False), 41: ("Air", "Elementalist", False),
    26: ("Earth", "Elementalist", False), 17: ("Water", "Elementalist", False),
    37: ("Arcane", "Elementalist", False),
    10: ("Domination", "Mesmer", False), 1: ("Dueling", "Mesmer", False),
    45: ("Chaos", "Mesmer", False), 23: ("Inspiration", "Mesmer", False),
    24: ("Illusions", "Mesmer", False),
    53: ("Spite", "Necromancer", False), 39: ("Curses", "Necromancer", False),
    2: ("Death Magic", "Necromancer", False), 19: ("Blood Magic", "Necromancer", False),
    50: ("Soul Reaping", "Necromancer", False),
    27: ("Dragonhunter", "Guardian", True), 62: ("Firebrand", "Guardian", True),
    65: ("Willbender", "Guardian", True), 81: ("Luminary", "Guardian", True),
    18: ("Berserker", "Warrior", True), 61: ("Spellbreaker", "Warrior", True),
    68: ("Bladesworn", "Warrior", True), 74: ("Paragon", "Warrior", True),
    52: ("Herald", "Revenant", True), 63: ("Renegade", "Revenant", True),
    69: ("Vindicator", "Revenant", True), 79: ("Conduit", "Revenant", True),
    43: ("Scrapper", "Engineer", True), 57: ("Holosmith", "Engineer", True),
    70: ("Mechanist", "Engineer", True), 75: ("Amalgam", "Engineer", True),
    5: ("Druid", "Ranger", True), 55: ("Soulbeast", "Ranger", True),
    72: ("Untamed", "Ranger", True), 78: ("Galeshot", "Ranger", True),
    7: ("Daredevil", "Thief", True), 58: ("Deadeye", "Thief", True),
    71: ("Specter", "Thief", True), 77: ("Antiquary", "Thief", True),
    48: ("Tempest", "Elementalist", True), 56: ("Weaver", "Elementalist", True),
    67: ("Catalyst", "Elementalist", True), 80: ("Evoker", "Elementalist", True),
    40: ("Chronomancer", "Mesmer", True), 59: ("Mirage", "Mesmer", True),
    66: ("Virtuoso", "Mesmer", True), 73: ("Troubadour", "Mesmer", True),
    34: ("Reaper", "Necromancer", True), 60: ("Scourge", "Necromancer", True),
    64: ("Harbinger", "Necromancer", True), 76: ("Ritualist", "Necromancer", True),
}  # fmt: skip
CORE_SPECS: dict[str, tuple[int, int]] = {
    "Guardian": (42, 16), "Warrior": (4, 36), "Revenant": (14, 9), "Engineer": (6, 38),
    "Ranger": (8, 30), "Thief": (28, 35), "Elementalist": (31, 41), "Mesmer": (10, 1),
    "Necromancer": (53, 39),
}  # fmt: skip

ALL_PERMISSIONS = (
    "account", "builds", "characters", "guilds", "inventories", "progression", "pvp",
    "tradingpost", "unlocks", "wallet", "wvw",
)  # fmt: skip


def iso(moment: datetime) -> str:
    """The API's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def week_start(region: str, now: datetime) -> datetime:
    """When the current WvW week began: EU Friday 18:00 UTC, NA Saturday 02:00 UTC."""
    weekday, hour = (4, 18) if region == "eu" else (5, 2)
    candidate = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    candidate -= timedelta(days=(candidate.weekday() - weekday) % 7)
    if candidate > now:
        candidate -= timedelta(days=7)
    return candidate


# --------------------------------------------------------------------------------- the world
@dataclass
class FakeObjective:
    """One objective's live state in a match."""

    id: str
    type: str
    name: str
    sector_id: int
    map_id: int
    map_type: str
    owner: str = "Neutral"
    last_flipped: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    tier: int = 0
    yaks_delivered: int = 0

    @property
    def points_tick(self) -> int:
        return POINTS.get(self.type, (0, 0, 0, 0))[self.tier]

    @property
    def scoring(self) -> bool:
        return self.type in POINTS

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "owner": self.owner,
            "last_flipped": iso(self.last_flipped) if self.last_flipped else None,
            "points_tick": self.points_tick,
            "points_capture": self.points_tick,
        }
        if self.scoring:
            body |= {
                "claimed_by": self.claimed_by,
                "claimed_at": iso(self.claimed_at) if self.claimed_at else None,
                "yaks_delivered": self.yaks_delivered,
                "guild_upgrades": [],
            }
        return body


@dataclass
class FakeMap:
    id: int
    type: str
    objectives: list[FakeObjective]
    scores: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    kills: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    deaths: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    bloodlust: str | None = None

    def ppt(self) -> dict[str, int]:
        totals = dict.fromkeys(COLOURS, 0)
        for objective in self.objectives:
            if objective.owner != "Neutral":
                totals[objective.owner.lower()] += objective.points_tick
        return totals

    def to_json(self) -> dict[str, Any]:
        bonuses = [{"type": "Bloodlust", "owner": self.bloodlust}] if self.bloodlust else []
        return {
            "id": self.id,
            "type": self.type,
            "scores": dict(self.scores),
            "bonuses": bonuses,
            "deaths": dict(self.deaths),
            "kills": dict(self.kills),
            "objectives": [o.to_json() for o in self.objectives],
        }


@dataclass
class FakeSkirmish:
    id: int
    map_scores: dict[str, dict[str, int]]

    def scores(self) -> dict[str, int]:
        return {c: sum(m[c] for m in self.map_scores.values()) for c in COLOURS}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scores": self.scores(),
            "map_scores": [{"type": t, "scores": dict(s)} for t, s in self.map_scores.items()],
        }


@dataclass
class FakeMatch:
    """A match whose totals are always the sums of its parts.

    Match scores = sum of skirmish scores = sum of map scores; match kills/deaths = sum over maps;
    victory points come from finished skirmishes (5/4/3 by skirmish score).
    """

    id: str
    region: str
    start_time: datetime
    end_time: datetime
    worlds: dict[str, int]
    all_worlds: dict[str, list[int]]
    maps: list[FakeMap]
    skirmishes: list[FakeSkirmish] = field(default_factory=list)
    victory_points: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    # ---- reading
    @property
    def scores(self) -> dict[str, int]:
        return {c: sum(m.scores[c] for m in self.maps) for c in COLOURS}

    @property
    def kills(self) -> dict[str, int]:
        return {c: sum(m.kills[c] for m in self.maps) for c in COLOURS}

    @property
    def deaths(self) -> dict[str, int]:
        return {c: sum(m.deaths[c] for m in self.maps) for c in COLOURS}

    def team_ids(self) -> set[int]:
        ids = set(self.worlds.values())
        for linked in self.all_worlds.values():
            ids.update(linked)
        return ids

    def objective(self, objective_id: str) -> FakeObjective:
        for match_map in self.maps:
            for objective in match_map.objectives:
                if objective.id == objective_id:
                    return objective
        raise KeyError(objective_id)

    def map(self, map_type: str) -> FakeMap:
        return next(m for m in self.maps if m.type == map_type)

    def ppt(self) -> dict[str, int]:
        totals = dict.fromkeys(COLOURS, 0)
        for match_map in self.maps:
            for colour, points in match_map.ppt().items():
                totals[colour] += points
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            **self.overview_json(),
            "scores": self.scores,
            "deaths": self.deaths,
            "kills": self.kills,
            "victory_points": dict(self.victory_points),
            "skirmishes": [s.to_json() for s in self.skirmishes],
            "maps": [m.to_json() for m in self.maps],
        }

    def overview_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "worlds": dict(self.worlds),
            "all_worlds": {c: list(v) for c, v in self.all_worlds.items()},
            "start_time": iso(self.start_time),
            "end_time": iso(self.end_time),
        }

    # ---- changing
    def flip(
        self,
        objective_id: str,
        owner: str,
        *,
        at: datetime | None = None,
        claimed_by: str | None = None,
    ) -> None:
        """Give an objective to ``owner`` ("red"/"Red"/.../"Neutral"); resets its upgrades."""
        objective = self.objective(objective_id)
        objective.owner = OWNER.get(owner.lower(), "Neutral")
        objective.last_flipped = at or self.now()
        objective.tier = 0
        objective.yaks_delivered = 0
        objective.claimed_by = claimed_by
        objective.claimed_at = objective.last_flipped if claimed_by else None

    def set_tier(self, objective_id: str, tier: int) -> None:
        self.objective(objective_id).tier = max(0, min(3, tier))

    def set_scores(self, map_type: str = "Center", **scores: int) -> None:
        """Set a map's scores (``red=..., blue=...``); the current skirmish moves by the same
        amount, so totals stay consistent."""
        match_map = self.map(map_type)
        current = self.skirmishes[-1].map_scores[map_type]
        for colour, value in scores.items():
            delta = value - match_map.scores[colour]
            match_map.scores[colour] = value
            current[colour] = max(0, current[colour] + delta)

    def add_kills(
        self, colour: str, kills: int, *, map_type: str = "Center", victims: str = ""
    ) -> None:
        """``colour`` kills ``kills`` players of ``victims`` (default: split over the others)."""
        match_map = self.map(map_type)
        match_map.kills[colour] += kills
        targets = [victims] if victims else [c for c in COLOURS if c != colour]
        for i in range(kills):
            match_map.deaths[targets[i % len(targets)]] += 1

    def tick(self) -> None:
        """One five-minute score tick: every map adds its owners' PPT."""
        current = self.skirmishes[-1]
        for match_map in self.maps:
            for colour, points in match_map.ppt().items():
                match_map.scores[colour] += points
                current.map_scores[match_map.type][colour] += points

    def next_skirmish(self) -> None:
        """Finish the current skirmish (award 5/4/3 VP) and start the next one."""
        finished = self.skirmishes[-1].scores()
        order = sorted(COLOURS, key=lambda c: finished[c], reverse=True)
        for rank, colour in enumerate(order):
            self.victory_points[colour] += VP_BY_RANK[rank]
        self.skirmishes.append(
            FakeSkirmish(
                len(self.skirmishes) + 1,
                {m.type: dict.fromkeys(COLOURS, 0) for m in self.maps},
            )
        )


class FakeWorld:
    """Every running match, generated from ``seed`` as of ``clock.now()``."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        seed: int = 2024,
        legacy_worlds: bool = False,
        build_id: int = 171_906,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.legacy_worlds = legacy_worlds
        self.build_id = build_id
        self._rng = random.Random(seed)
        self._week = 0
        self.matches: dict[str, FakeMatch] = {}
        self._generate(week_start("na", self.now()), week_start("eu", self.now()))

    def now(self) -> datetime:
        return self.clock.now()

    # ---- reading
    def match(self, match_id: str) -> FakeMatch:
        return self.matches[match_id]

    def match_for(self, team_or_world: int) -> FakeMatch | None:
        for match in self.matches.values():
            if team_or_world in match.team_ids():
                return match
        return None

    def teams(self, region: str) -> dict[int, str]:
        return dict(TEAMS_NA if region == "na" else TEAMS_EU)

    # ---- changing
    def roll_week(self) -> None:
        """Reset: new pairings, start times one week later, everything back to skirmish 1."""
        self._week += 1
        first = next(iter(self.matches.values()))
        na = next((m for m in self.matches.values() if m.region == "na"), first)
        eu = next((m for m in self.matches.values() if m.region == "eu"), first)
        self._generate(
            na.start_time + timedelta(days=7), eu.start_time + timedelta(days=7), fresh=True
        )

    def _generate(self, na_start: datetime, eu_start: datetime, *, fresh: bool = False) -> None:
        self.matches = {}
        for region, start, teams in (("na", na_start, TEAMS_NA), ("eu", eu_start, TEAMS_EU)):
            ids = list(teams)
            if self.legacy_worlds:
                ids = [w for w in LEGACY_WORLDS if (w < 2000) == (region == "na")]
            shift = self._week % len(ids)
            ids = ids[shift:] + ids[:shift]
            if self._week:
                self._rng.shuffle(ids)
            prefix = "1" if region == "na" else "2"
            per_colour = 2 if self.legacy_worlds else 1
            group = 3 * per_colour
            for index in range(len(ids) // group):
                chunk = ids[index * group : (index + 1) * group]
                all_worlds = {
                    c: chunk[i * per_colour : (i + 1) * per_colour] for i, c in enumerate(COLOURS)
                }
                worlds = {c: all_worlds[c][-1] for c in COLOURS}
                match = self._new_match(
                    f"{prefix}-{index + 1}", region, start, worlds, all_worlds, fresh
                )
                self.matches[match.id] = match

    def _new_match(
        self,
        match_id: str,
        region: str,
        start: datetime,
        worlds: dict[str, int],
        all_worlds: dict[str, list[int]],
        fresh: bool,
    ) -> FakeMatch:
        rng = self._rng
        now = self.now()
        maps: list[FakeMap] = []
        for map_type, rows in OBJECTIVES.items():
            map_id = MAP_IDS[map_type]
            objectives: list[FakeObjective] = []
            spawn_colours = iter(COLOURS)
            for suffix, kind, name, sector in rows:
                objective = FakeObjective(
                    f"{map_id}-{suffix}", kind, name, sector, map_id, map_type
                )
                if kind == "Spawn":
                    home = HOME_COLOUR.get(map_type)
                    objective.owner = OWNER[home] if home else OWNER[next(spawn_colours, "red")]
                elif kind in POINTS and not fresh:
                    home = HOME_COLOUR.get(map_type)
                    weights = [3 if c == home else 1 for c in COLOURS]
                    colour = rng.choices(COLOURS, weights=weights)[0]
                    objective.owner = OWNER[colour]
                    objective.tier = rng.randrange(4)
                    objective.yaks_delivered = rng.randrange(0, 141)
                    objective.last_flipped = now - timedelta(minutes=rng.randrange(5, 600))
                    if rng.random() < 0.4:
                        objective.claimed_by = f"{rng.getrandbits(128):032X}"[:8] + "-GUILD"
                        objective.claimed_at = objective.last_flipped + timedelta(minutes=2)
                elif kind in POINTS:
                    home = HOME_COLOUR.get(map_type)
                    if home and kind == "Keep":
                        objective.owner = OWNER[home]
                    objective.last_flipped = start
                objectives.append(objective)
            maps.append(FakeMap(map_id, map_type, objectives))
        match = FakeMatch(
            match_id,
            region,
            start,
            start + timedelta(days=7) - timedelta(minutes=2),
            worlds,
            all_worlds,
            maps,
            now=self.now,
        )
        match.skirmishes.append(FakeSkirmish(1, {m.type: dict.fromkeys(COLOURS, 0) for m in maps}))
        if fresh:
            return match
        elapsed = max(timedelta(0), now - start)
        finished = min(83, int(elapsed // SKIRMISH))
        for _ in range(finished):
            self._play(match, rng, full=True)
            match.next_skirmish()
        self._play(match, rng, full=False)
        return match

    @staticmethod
    def _play(match: FakeMatch, rng: random.Random, *, full: bool) -> None:
        """Random but plausible scores and kills for the current skirmish."""
        current = match.skirmishes[-1]
        for match_map in match.maps:
            for colour in COLOURS:
                points = rng.randrange(200, 1500) if full else rng.randrange(0, 600)
                current.map_scores[match_map.type][colour] += points
                match_map.scores[colour] += points
                kills = rng.randrange(20, 200) if full else rng.randrange(0, 60)
                match_map.kills[colour] += kills
                others = [c for c in COLOURS if c != colour]
                match_map.deaths[others[0]] += kills // 2
                match_map.deaths[others[1]] += kills - kills // 2
            match_map.bloodlust = HOME_COLOUR.get(match_map.type)
            if match_map.bloodlust:
                match_map.bloodlust = OWNER[match_map.bloodlust]

    # ---- static data
    def objectives_json(self, lang: str = "en") -> list[dict[str, Any]]:
        rows = []
        index = _I18N_INDEX.get(lang)
        for map_type, objectives in OBJECTIVES.items():
            map_id = MAP_IDS[map_type]
            for suffix, kind, name, sector in objectives:
                localised = OBJECTIVE_NAMES_I18N.get(name)
                rows.append(
                    {
                        "id": f"{map_id}-{suffix}",
                        "name": localised[index] if localised and index is not None else name,
                        "sector_id": sector,
                        "type": kind,
                        "map_type": map_type,
                        "map_id": map_id,
                        "coord": [0.0, 0.0, 0.0],
                        "label_coord": [0.0, 0.0],
                        "marker": "https://render.guildwars2.com/file/marker.png",
                        "chat_link": "[&DAAAAAA=]",
                    }
                )
        return rows


# --------------------------------------------------------------------------------- accounts
@dataclass
class FakeCharacter:
    """A character; ``elite_specs`` holds one entry per build tab (``None`` = core build)."""

    name: str
    profession: str
    elite_specs: list[int | None] = field(default_factory=lambda: [None])
    level: int = 80
    race: str = "Human"
    gender: str = "Female"
    active_tab: int = 1

    def core_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "race": self.race,
            "gender": self.gender,
            "profession": self.profession,
            "level": self.level,
            "guild": None,
            "age": 123_456,
            "created": "2015-08-28T00:00:00Z",
            "deaths": 42,
            "title": None,
        }

    def full_json(self, *, builds: bool) -> dict[str, Any]:
        """The object ``/v2/characters?ids=all`` serves (build tabs only with ``builds``)."""
        full: dict[str, Any] = {
            **self.core_json(),
            "flags": [],
            "last_modified": "2024-01-01T00:00:00Z",
            "crafting": [],
            "backstory": [],
            "wvw_abilities": [],
            "build_tabs_unlocked": len(self.elite_specs),
            "active_build_tab": self.active_tab,
            "equipment": [],
            "equipment_tabs_unlocked": 1,
            "active_equipment_tab": 1,
            "recipes": [],
            "training": [],
            "bags": [],
        }
        if builds:
            full["build_tabs"] = self.buildtabs_json()
        return full

    def buildtabs_json(self) -> list[dict[str, Any]]:
        first, second = CORE_SPECS.get(self.profession, (0, 0))
        tabs = []
        for index, elite in enumerate(self.elite_specs, start=1):
            specs = [first, second, elite if elite is not None else _third_core(self.profession)]
            tabs.append(
                {
                    "tab": index,
                    "is_active": index == self.active_tab,
                    "build": {
                        "name": "",
                        "profession": self.profession,
                        "specializations": [{"id": s, "traits": [1, 2, 3]} for s in specs],
                        "skills": {"heal": 1, "utilities": [2, 3, 4], "elite": 5},
                        "aquatic_skills": {"heal": 1, "utilities": [2, 3, 4], "elite": 5},
                    },
                }
            )
        return tabs


def _third_core(profession: str) -> int:
    cores = [i for i, (_, p, elite) in SPECIALIZATIONS.items() if p == profession and not elite]
    used = set(CORE_SPECS.get(profession, ()))
    return next((c for c in cores if c not in used), 0)


@dataclass
class FakeKey:
    """What the fake knows about one API key."""

    key: str
    permissions: list[str]
    account_name: str
    account_id: str
    team_id: int | None
    world: int
    guilds: list[str]
    wvw_guild: str | None
    characters: list[FakeCharacter]
    token_name: str = "GW2Optimizer"
    wvw_rank: int = 1234


# --------------------------------------------------------------------------------- faults
@dataclass
class Fault:
    """One scripted misbehaviour for a route.

    - ``status``/``text``: answer with this status and ``{"text": text}`` (or ``body`` verbatim).
    - ``delay``: wait this many (real) seconds first; with ``status=None`` the normal answer
      follows.
    - ``retry_after``: add a ``Retry-After`` header.
    - ``truncate``: serve the normal answer cut in half (status 200, broken JSON).
    - ``partial``: serve half of a list answer with status 206.
    - ``times``: how many requests it affects (``None`` = until cleared).
    """

    status: int | None = 500
    text: str | None = "unknown error"
    body: bytes | None = None
    delay: float = 0.0
    retry_after: float | None = None
    truncate: bool = False
    partial: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1

    @classmethod
    def slow(cls, seconds: float, *, times: int | None = 1) -> Fault:
        return cls(status=None, text=None, delay=seconds, times=times)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0, *, times: int | None = 1) -> Fault:
        return cls(status=429, text="too many requests", retry_after=retry_after, times=times)

    @classmethod
    def disabled(cls, *, times: int | None = None) -> Fault:
        return cls(status=503, text="API not active", times=times)

    @classmethod
    def truncated(cls, *, times: int | None = 1) -> Fault:
        return cls(status=None, text=None, truncate=True, times=times)

    @classmethod
    def partial_content(cls, *, times: int | None = 1) -> Fault:
        return cls(status=None, text=None, partial=True, times=times)


@dataclass(frozen=True)
class RecordedRequest:
    route: str
    path: str
    query: dict[str, str]
    authenticated: bool
    user_agent: str
    auth_via: str | None = None  # "header", "query" or None


class _Bucket:
    def __init__(self, clock: Clock, capacity: float, rate: float) -> None:
        self.clock, self.capacity, self.rate = clock, capacity, rate
        self.tokens = capacity
        self.updated = clock.monotonic()

    def take(self) -> bool:
        now = self.clock.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False


class InstantClock(ManualClock):
    """A manual clock whose ``sleep`` moves time forward at once (and records the wait).

    For tests of backoff and rate-limit waits: the code under test "waits" without real time.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)


# --------------------------------------------------------------------------------- the server
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The counter/fault key of ``/v2/characters?ids=...`` (the bulk form), apart from the names list.
BULK_CHARACTERS_ROUTE = "/v2/characters?ids"


class FakeGW2API:
    """The fake API server. Use ``async with FakeGW2API() as fake`` or ``await fake.start()``."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 2024,
        legacy_worlds: bool = False,
        rate_limit: bool = False,
        bucket_capacity: float = 300,
        refill_per_second: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.world = FakeWorld(self.clock, seed=seed, legacy_worlds=legacy_worlds)
        self.keys: dict[str, FakeKey] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.guild_teams: dict[str, dict[str, int]] = {"na": {}, "eu": {}}
        self.requests: Counter[str] = Counter()
        self.request_log: deque[RecordedRequest] = deque(maxlen=10_000)
        self.rate_limited = 0
        self.response_headers: dict[str, dict[str, str]] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._bucket = (
            _Bucket(self.clock, bucket_capacity, refill_per_second) if rate_limit else None
        )
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.app = self._build_app()
        self._seed_guilds()

    # ---- lifecycle
    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGW2API:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    # ---- scripting
    def add_key(
        self,
        key: str,
        *,
        permissions: Iterable[str] = ("account", "wvw", "characters", "builds"),
        account_name: str = "Player.1234",
        team_id: int | None = 11001,
        world: int = 1001,
        guilds: Iterable[str] = (),
        wvw_guild: str | None = None,
        characters: Iterable[FakeCharacter | Mapping[str, Any]] = (),
        token_name: str = "GW2Optimizer",
    ) -> FakeKey:
        """Register a key; tokeninfo/account/characters then answer for it."""
        perms = list(dict.fromkeys(["account", *permissions]))
        chars = [c if isinstance(c, FakeCharacter) else FakeCharacter(**c) for c in characters]
        entry = FakeKey(
            key=key,
            permissions=perms,
            account_name=account_name,
            account_id=f"{abs(hash(account_name)) % 10**8:08X}-0000-4000-8000-000000000000",
            team_id=team_id,
            world=world,
            guilds=list(guilds),
            wvw_guild=wvw_guild,
            characters=chars,
            token_name=token_name,
        )
        self.keys[key] = entry
        return entry

    def remove_key(self, key: str) -> None:
        self.keys.pop(key, None)

    def add_guild(self, guild_id: str, name: str, tag: str, *, team_id: int | None = None) -> None:
        """A guild for ``/v2/guild/{id}``; with ``team_id`` also listed in ``/v2/wvw/guilds``."""
        self.guilds[guild_id] = {"id": guild_id, "name": name, "tag": tag}
        if team_id is not None:
            region = "na" if team_id < 12000 else "eu"
            self.guild_teams[region][guild_id] = team_id

    def script(self, route: str, *faults: Fault) -> None:
        """Queue faults for a route (``"/v2/wvw/matches"``, ``"/v2/characters/{name}/core"``).

        ``"/v2/characters"`` covers the names list and the bulk form; ``BULK_CHARACTERS_ROUTE``
        (``"/v2/characters?ids"``) only the bulk form."""
        self._faults.setdefault(route, deque()).extend(faults)

    def fail(
        self, route: str, status: int = 500, text: str = "unknown error", **kwargs: Any
    ) -> None:
        """Shorthand for ``script(route, Fault(status, text, ...))``."""
        self.script(route, Fault(status=status, text=text, **kwargs))

    def clear_faults(self, route: str | None = None) -> None:
        if route is None:
            self._faults.clear()
        else:
            self._faults.pop(route, None)

    def count(self, route: str) -> int:
        """Requests received for a route (after rate limiting, including faulted ones)."""
        return self.requests[route]

    def reset_counters(self) -> None:
        self.requests.clear()
        self.request_log.clear()
        self.rate_limited = 0

    # ---- app
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes: list[tuple[str, Handler]] = [
            ("/v2/build", self._build),
            ("/v2/wvw/matches", self._matches),
            ("/v2/wvw/matches/overview", self._overview),
            ("/v2/wvw/matches/{id}", self._match_by_path),
            ("/v2/wvw/objectives", self._objectives),
            ("/v2/worlds", self._worlds),
            ("/v2/wvw/timers/{kind}", self._timers),
            ("/v2/wvw/guilds/{region}", self._wvw_guilds),
            ("/v2/guild/{id}", self._guild),
            ("/v2/specializations", self._specializations),
            ("/v2/professions", self._professions),
            ("/v2/tokeninfo", self._tokeninfo),
            ("/v2/account", self._account),
            ("/v2/account/wvw", self._account_wvw),
            ("/v2/characters", self._characters),
            ("/v2/characters/{name}/core", self._character_core),
            ("/v2/characters/{name}/buildtabs", self._character_buildtabs),
            ("/_fake/stats", self._stats),
        ]
        for path, handler in routes:
            app.router.add_get(path, handler)
        app.router.add_post("/_fake/reset", self._reset)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        if route.startswith("/_fake/"):
            return await handler(request)
        if self._bucket is not None and not self._bucket.take():
            self.rate_limited += 1
            return _error(429, "too many requests", {"Retry-After": "1"})
        canonical = route
        if route == "/v2/characters" and "ids" in request.query:
            route = BULK_CHARACTERS_ROUTE  # counted (and scriptable) apart from the names list
        self.requests[route] += 1
        query = {k: v for k, v in request.query.items() if k != "access_token"}
        self.request_log.append(
            RecordedRequest(
                route,
                request.path,
                query,
                _token(request) is not None,
                request.headers.get("User-Agent", ""),
                _auth_via(request),
            )
        )
        fault = self._next_fault(route, request.path, canonical)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                headers = dict(fault.headers)
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                if fault.body is not None:
                    return web.Response(status=fault.status, body=fault.body, headers=headers)
                return _error(fault.status, fault.text or "", headers)
        response = await handler(request)
        extra = self.response_headers.get(route)
        if extra and isinstance(response, web.Response):
            response.headers.update(extra)
        if fault is not None and isinstance(response, web.Response) and response.body:
            raw = bytes(response.body)  # type: ignore[arg-type]
            if fault.truncate:
                return web.Response(body=raw[: len(raw) // 2], content_type="application/json")
            if fault.partial:
                decoded = json.loads(raw)
                if isinstance(decoded, list):
                    return _json(decoded[: max(1, len(decoded) // 2)], status=206)
        return response

    def _next_fault(self, route: str, path: str, canonical: str) -> Fault | None:
        for name in dict.fromkeys((path, route, canonical)):
            queue = self._faults.get(name)
            if not queue:
                continue
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
            return fault
        return None

    # ---- public handlers
    async def _build(self, request: web.Request) -> web.Response:
        return _json({"id": self.world.build_id})

    async def _matches(self, request: web.Request) -> web.Response:
        query = request.query
        if "world" in query:
            match = self.world.match_for(_int(query["world"]))
            if match is None:
                return _error(404, "world not currently in a match")
            return _json(match.to_json())
        if "id" in query:
            return self._one_match(query["id"], full=True)
        if "ids" in query:
            return self._many(query["ids"], self.world.matches, lambda m: m.to_json())
        return _json(sorted(self.world.matches))

    async def _overview(self, request: web.Request) -> web.Response:
        query = request.query
        if "world" in query:
            match = self.world.match_for(_int(query["world"]))
            if match is None:
                return _error(404, "world not currently in a match")
            return _json(match.overview_json())
        if "id" in query:
            return self._one_match(query["id"], full=False)
        if "ids" in query:
            return self._many(query["ids"], self.world.matches, lambda m: m.overview_json())
        return _json(sorted(self.world.matches))

    async def _match_by_path(self, request: web.Request) -> web.Response:
        return self._one_match(request.match_info["id"], full=True)

    def _one_match(self, match_id: str, *, full: bool) -> web.Response:
        match = self.world.matches.get(match_id)
        if match is None:
            return _error(404, "no such id")
        return _json(match.to_json() if full else match.overview_json())

    async def _objectives(self, request: web.Request) -> web.Response:
        lang = request.query.get("lang", "en")
        rows = {row["id"]: row for row in self.world.objectives_json(lang)}
        if "ids" in request.query:
            return self._many(request.query["ids"], rows, lambda r: r)
        if "id" in request.query:
            row = rows.get(request.query["id"])
            return _json(row) if row else _error(404, "no such id")
        return _json(list(rows))

    async def _worlds(self, request: web.Request) -> web.Response:
        rows = {
            str(world_id): {"id": world_id, "name": name, "population": "High"}
            for world_id, name in LEGACY_WORLDS.items()
        }
        if "ids" in request.query:
            return self._many(request.query["ids"], rows, lambda r: r)
        return _json([int(i) for i in rows])

    async def _timers(self, request: web.Request) -> web.Response:
        if request.match_info["kind"] not in ("lockout", "teamassignment"):
            return _error(404, "not found")
        now = self.world.now()
        return _json(
            {
                "na": iso(week_start("na", now) + timedelta(days=7)),
                "eu": iso(week_start("eu", now) + timedelta(days=7)),
            }
        )

    async def _wvw_guilds(self, request: web.Request) -> web.Response:
        region = request.match_info["region"].lower()
        if region not in self.guild_teams:
            return _error(404, "not found")
        return _json({g: str(t) for g, t in self.guild_teams[region].items()})

    async def _guild(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["id"].upper()) or self.guilds.get(
            request.match_info["id"]
        )
        return _json(guild) if guild else _error(404, "no such id")

    async def _specializations(self, request: web.Request) -> web.Response:
        index = _I18N_INDEX.get(request.query.get("lang", "en"))
        rows = {
            str(i): {
                "id": i,
                "name": SPECIALIZATION_NAMES_I18N[i][index]
                if index is not None and i in SPECIALIZATION_NAMES_I18N
                else name,
                "profession": profession,
                "elite": elite,
                "minor_traits": [],
                "major_traits": [],
                "icon": "https://render.guildwars2.com/file/spec.png",
            }
            for i, (name, profession, elite) in SPECIALIZATIONS.items()
        }
        if "ids" in request.query:
            return self._many(request.query["ids"], rows, lambda r: r)
        return _json(sorted(int(i) for i in rows))

    async def _professions(self, request: web.Request) -> web.Response:
        index = _I18N_INDEX.get(request.query.get("lang", "en"))
        rows = {
            profession: {
                "id": profession,
                "name": names[index] if index is not None else profession,
                "icon": "https://render.guildwars2.com/file/profession.png",
                "specializations": sorted(
                    i for i, (_, owner, _) in SPECIALIZATIONS.items() if owner == profession
                ),
            }
            for profession, names in PROFESSION_NAMES_I18N.items()
        }
        if "ids" in request.query:
            return self._many(request.query["ids"], rows, lambda r: r)
        return _json(sorted(rows))

    def _many(
        self, ids_param: str, rows: Mapping[str, Any], render: Callable[[Any], Any]
    ) -> web.Response:
        if ids_param == "all":
            return _json([render(r) for r in rows.values()])
        wanted = [i for i in ids_param.split(",") if i]
        if len(wanted) > 200:
            return _error(400, "id list too long; this endpoint is limited to 200 ids at once")
        found = [render(rows[i]) for i in wanted if i in rows]
        if not found:
            return _error(404, "all ids provided are invalid")
        return _json(found, status=200 if len(found) == len(wanted) else 206)

    # ---- authenticated handlers
    def _authorise(self, request: web.Request, *scopes: str) -> FakeKey | web.Response:
        token = _token(request)
        if token is None:
            return _error(401, "endpoint requires authentication")
        entry = self.keys.get(token)
        if entry is None:
            return _error(403, "Invalid access token")
        for scope in scopes:
            if scope not in entry.permissions:
                return _error(403, f"requires scope {scope}")
        return entry

    async def _tokeninfo(self, request: web.Request) -> web.Response:
        entry = self._authorise(request)
        if isinstance(entry, web.Response):
            return entry
        return _json(
            {
                "id": entry.account_id.replace("0000-4000", "1111-4111"),
                "name": entry.token_name,
                "permissions": entry.permissions,
                "type": "APIKey",
            }
        )

    async def _account(self, request: web.Request) -> web.Response:
        entry = self._authorise(request, "account")
        if isinstance(entry, web.Response):
            return entry
        return _json(
            {
                "id": entry.account_id,
                "name": entry.account_name,
                "age": 3_600_000,
                "world": entry.world,
                "guilds": entry.guilds,
                "guild_leader": [],
                "created": "2015-08-28T00:00:00Z",
                "access": ["GuildWars2", "HeartOfThorns", "PathOfFire", "EndOfDragons"],
                "commander": True,
                "wvw": {"team_id": entry.team_id, "rank": entry.wvw_rank},
            }
        )

    async def _account_wvw(self, request: web.Request) -> web.Response:
        entry = self._authorise(request, "account", "wvw")
        if isinstance(entry, web.Response):
            return entry
        return _json({"team": entry.team_id, "guild": entry.wvw_guild})

    async def _characters(self, request: web.Request) -> web.Response:
        entry = self._authorise(request, "account", "characters")
        if isinstance(entry, web.Response):
            return entry
        ids = request.query.get("ids")
        if ids is None:
            return _json([c.name for c in entry.characters])
        builds = "builds" in entry.permissions
        rows = {c.name: c for c in entry.characters}
        return self._many(ids, rows, lambda c: c.full_json(builds=builds))

    async def _character_core(self, request: web.Request) -> web.Response:
        found = self._character(request, "characters")
        return found if isinstance(found, web.Response) else _json(found.core_json())

    async def _character_buildtabs(self, request: web.Request) -> web.Response:
        found = self._character(request, "characters", "builds")
        return found if isinstance(found, web.Response) else _json(found.buildtabs_json())

    def _character(self, request: web.Request, *scopes: str) -> FakeCharacter | web.Response:
        entry = self._authorise(request, *scopes)
        if isinstance(entry, web.Response):
            return entry
        name = request.match_info["name"]
        character = next((c for c in entry.characters if c.name == name), None)
        return character if character is not None else _error(404, "no such character")

    # ---- control (out-of-process use)
    async def _stats(self, request: web.Request) -> web.Response:
        return _json({"requests": dict(self.requests), "rate_limited": self.rate_limited})

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset_counters()
        self.clear_faults()
        return _json({"ok": True})

    def _seed_guilds(self) -> None:
        for index, team_id in enumerate([*TEAMS_NA, *TEAMS_EU]):
            guild_id = f"{index + 1:08X}-AAAA-4BBB-8CCC-{team_id:012d}"
            self.add_guild(guild_id, f"Guild of {team_id}", f"G{index % 100:02d}", team_id=team_id)


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.query.get("access_token") or None


def _auth_via(request: web.Request) -> str | None:
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return "header"
    return "query" if "access_token" in request.query else None


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


def _json(body: Any, *, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body).encode(), content_type="application/json"
    )


def _error(status: int, text: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"text": text}).encode(),
        content_type="application/json",
        headers=dict(headers or {}),
    )


def main(argv: list[str] | None = None) -> None:
    """Run the fake as a process: ``python -m tests.fakes.gw2_api --port 8099``."""
    parser = argparse.ArgumentParser(description="Serve the fake GW2 API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--legacy-worlds", action="store_true")
    parser.add_argument("--rate-limit", action="store_true", help="answer 429 beyond 300 + 5/s")
    args = parser.parse_args(argv)
    fake = FakeGW2API(seed=args.seed, legacy_worlds=args.legacy_worlds, rate_limit=args.rate_limit)
    web.run_app(fake.app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()

"""The shipped actor registry (libya_nlp/resources/actors.yaml, ANNOTATION.md §6): well formed, complete, unambiguous.

`validate_registry` holds the checks; the library's loader is meant to reuse them.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict

import pytest
import yaml

from conftest import ROOT

REGISTRY = ROOT / "libya_nlp" / "resources" / "actors.yaml"

# Every id that ANNOTATION.md §6 names.
ANNOTATION_IDS = (
    # states
    "LBY", "DZA", "EGY", "TUN", "TUR", "RUS", "USA", "FRA", "ITA", "GBR", "DEU", "ARE", "QAT", "SAU", "SDN",
    "TCD", "NER", "MLT", "MAR", "JOR", "GRC", "CHN",
    # Libyan bodies
    "LBY-GNA", "LBY-LNA", "LBY-HOR", "LBY-HCS", "LBY-GNS", "LBY-IG", "LBY-GNU", "LBY-GNC", "LBY-NOC", "LBY-CBL",
    "LBY-LCG",
    # international bodies
    "UN", "UNSC", "UNSMIL", "NATO", "EU", "AU", "LAS", "ICC", "AFRICOM", "WB", "IMF",
    # armed groups
    "ISIS", "AQIM", "WAGNER",
)

MIN_IDS = 120

STATE_ID = re.compile(r"[A-Z]{3}")
LIBYAN_ID = re.compile(r"LBY-[A-Z]{2,8}")
OTHER_ID = re.compile(r"[A-Z][A-Z0-9]{1,11}(-[A-Z0-9]{2,8})?")
YEARS = re.compile(r"(\d{4})(-(\d{4})?)?")
ARABIC_ALIAS = re.compile(r"[\u0621-\u063a\u0641-\u064a]+( [\u0621-\u063a\u0641-\u064a]+)*")
LATIN_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'+\-]*")

# Keys whose forms each resolve to the entry alone (one alias -> one id, unless an alias rule names it).
CLAIMED_KEYS = ("names_ar", "capital_ar", "seat_ar", "demonyms_ar")
ARABIC_KEYS = CLAIMED_KEYS + ("ambiguous_ar",)
ENTRY_KEYS = {"id", "kind", "country", "parent", "name_en", "years", "names_ar", "capital_ar", "seat_ar",
              "demonyms_ar", "ambiguous_ar", "homonyms_ar", "shared_ar", "names_latin", "people"}
PERSON_KEYS = {"name_en", "names_ar", "names_latin", "role", "years"}
RULE_KEYS = {"alias", "default", "also", "note"}

# Clitics the linker strips: conjunctions first, then prepositions (وب، فل ...); لل + X stands for ال + X.
CONJUNCTIONS = ("و", "ف")
PREPOSITIONS = ("ب", "ل", "ك")


def clitic_readings(alias: str) -> list[str]:
    """The bare forms a token could stand for once the linker strips و ف ب ل ك (and reads لل as ال)."""
    readings = []
    stems = [alias] + [alias[1:]] * alias.startswith(CONJUNCTIONS)
    for n, stem in enumerate(stems):
        if n:
            readings.append(stem)
        if stem.startswith(PREPOSITIONS):
            readings.append(stem[1:])                 # لليبيا -> ليبيا
        if stem.startswith("لل") and len(stem) > 2:
            readings.append("ال" + stem[2:])          # للأمم المتحدة -> الأمم المتحدة
    return [reading for reading in readings if reading]


def _as_list(value) -> list:
    return value if isinstance(value, list) else []


def claimed_aliases(entry: dict) -> list[str]:
    """Every Arabic form that resolves to this entry: its names, capitals, seats, demonyms and people's names."""
    forms = [alias for key in CLAIMED_KEYS for alias in _as_list(entry.get(key))]
    for person in _as_list(entry.get("people")):
        if isinstance(person, dict):
            forms.extend(_as_list(person.get("names_ar")))
    return forms


def latin_aliases(entry: dict) -> list[str]:
    forms = list(_as_list(entry.get("names_latin")))
    for person in _as_list(entry.get("people")):
        if isinstance(person, dict):
            forms.extend(_as_list(person.get("names_latin")))
    return forms


def validate_registry(data) -> list[str]:
    """All problems of a loaded registry, one line each; an empty list means valid."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["registry: top level is not a mapping"]
    if data.get("version") != 1:
        problems.append(f"registry: version is {data.get('version')!r}, expected 1")
    kinds = data.get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        problems.append("registry: `kinds` must be a non-empty list of names")
        kinds = []
    if len(set(kinds)) != len(kinds):
        problems.append("registry: `kinds` repeats a kind")
    actors = data.get("actors")
    if not isinstance(actors, list) or not actors:
        return problems + ["registry: `actors` must be a non-empty list"]
    rules = data.get("alias_rules") or []
    if not isinstance(rules, list):
        problems.append("registry: `alias_rules` must be a list")
        rules = []

    entries: dict[str, dict] = {}
    for position, entry in enumerate(actors):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            problems.append(f"actor #{position}: not a mapping with a string id")
            continue
        if entry["id"] in entries:
            problems.append(f"{entry['id']}: duplicate id")
            continue
        entries[entry["id"]] = entry
    states = {i for i, e in entries.items() if e.get("kind") == "state"}

    owners: dict[str, set[str]] = defaultdict(set)      # claimed Arabic alias -> ids
    ambiguous: dict[str, set[str]] = defaultdict(set)   # ambiguous Arabic form -> ids
    latin_owners: dict[str, set[str]] = defaultdict(set)
    for actor_id, entry in entries.items():
        where = actor_id
        for key in sorted(set(entry) - ENTRY_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        kind = entry.get("kind")
        if kind not in kinds:
            problems.append(f"{where}: unknown kind {kind!r}")
        if kind == "state":
            if not STATE_ID.fullmatch(actor_id):
                problems.append(f"{where}: a state id must be 3 capital letters (ISO 3166-1 alpha-3)")
            if entry.get("country") != actor_id:
                problems.append(f"{where}: a state's country must be its own id, not {entry.get('country')!r}")
        else:
            if actor_id.startswith("LBY"):
                if not LIBYAN_ID.fullmatch(actor_id):
                    problems.append(f"{where}: a Libyan body's id must be LBY-XXX")
                if entry.get("country") != "LBY":
                    problems.append(f"{where}: a Libyan body's country must be LBY")
            elif not OTHER_ID.fullmatch(actor_id):
                problems.append(f"{where}: id must be a short capitalised Latin name")
        if "country" in entry and entry["country"] not in states:
            problems.append(f"{where}: country {entry['country']!r} is not a state of the registry")
        if "parent" in entry and (entry["parent"] not in entries or entry["parent"] == actor_id):
            problems.append(f"{where}: parent {entry['parent']!r} is not another id of the registry")
        if not isinstance(entry.get("name_en"), str) or not entry["name_en"].strip():
            problems.append(f"{where}: no name_en")
        if "years" in entry and not _years_ok(entry["years"]):
            problems.append(f"{where}: years {entry.get('years')!r} is not YYYY, YYYY-YYYY or YYYY-")
        if not _as_list(entry.get("names_ar")):
            problems.append(f"{where}: no Arabic name (names_ar)")
        for key in ARABIC_KEYS + ("names_latin",):
            if key in entry and not (isinstance(entry[key], list) and entry[key]):
                problems.append(f"{where}: {key} must be a non-empty list")
        for key in ARABIC_KEYS:
            for alias in _as_list(entry.get(key)):
                problems.extend(_arabic_problems(where, key, alias))
        for alias in _as_list(entry.get("names_latin")):
            problems.extend(_latin_problems(where, alias))
        people = entry.get("people", [])
        if not isinstance(people, list):
            problems.append(f"{where}: people must be a list")
            people = []
        for n, person in enumerate(people):
            who = f"{where} person #{n}"
            if not isinstance(person, dict):
                problems.append(f"{who}: not a mapping")
                continue
            who = f"{where} person {person.get('name_en')!r}"
            for key in sorted(set(person) - PERSON_KEYS):
                problems.append(f"{who}: unknown key {key!r}")
            if not isinstance(person.get("name_en"), str) or not person["name_en"].strip():
                problems.append(f"{who}: no name_en")
            if not _as_list(person.get("names_ar")):
                problems.append(f"{who}: no names_ar")
            if not _years_ok(person.get("years")):
                problems.append(f"{who}: years {person.get('years')!r} is not YYYY, YYYY-YYYY or YYYY-")
            if "role" in person and not isinstance(person["role"], str):
                problems.append(f"{who}: role must be a string")
            for alias in _as_list(person.get("names_ar")):
                problems.extend(_arabic_problems(who, "names_ar", alias))
            for alias in _as_list(person.get("names_latin")):
                problems.extend(_latin_problems(who, alias))

        forms = [a for a in claimed_aliases(entry) if isinstance(a, str)]
        for alias in sorted({a for a in forms if forms.count(a) > 1}):
            problems.append(f"{where}: alias {alias!r} listed twice")
        for alias in forms:
            owners[alias].add(actor_id)
        for alias in _as_list(entry.get("ambiguous_ar")):
            if isinstance(alias, str):
                ambiguous[alias].add(actor_id)
        for alias in latin_aliases(entry):
            if isinstance(alias, str):
                latin_owners[alias.casefold()].add(actor_id)

    ruled: dict[str, dict] = {}
    for n, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("alias"), str):
            problems.append(f"alias rule #{n}: not a mapping with a string alias")
            continue
        alias = rule["alias"]
        where = f"alias rule {alias!r}"
        for key in sorted(set(rule) - RULE_KEYS):
            problems.append(f"{where}: unknown key {key!r}")
        if alias in ruled:
            problems.append(f"{where}: two rules for one alias")
        ruled[alias] = rule
        if alias not in owners and alias not in ambiguous:
            problems.append(f"{where}: the alias occurs in no entry")
        default = rule.get("default")
        if default is not None and default not in entries:
            problems.append(f"{where}: default {default!r} is not an id of the registry")
        claimants = owners.get(alias, set())
        if len(claimants) > 1:
            if default not in claimants:
                problems.append(f"{where}: default {default!r} is none of the ids that claim it {sorted(claimants)}")
            unlisted = claimants - {default} - set(_as_list(rule.get("also")))
            if unlisted:
                problems.append(f"{where}: claimed also by {sorted(unlisted)}, which `also` does not list")
        for other in _as_list(rule.get("also")):
            if other not in entries:
                problems.append(f"{where}: `also` names unknown id {other!r}")
        if not isinstance(rule.get("note"), str) or not rule["note"].strip():
            problems.append(f"{where}: no note")

    for alias, ids in sorted(owners.items()):
        if len(ids) > 1 and alias not in ruled:
            problems.append(f"alias {alias!r} claimed by {sorted(ids)} and named by no alias rule")
    for alias, ids in sorted(ambiguous.items()):
        if alias in owners and alias not in ruled:
            problems.append(f"ambiguous form {alias!r} of {sorted(ids)} is also claimed by {sorted(owners[alias])}")
    for alias, ids in sorted(latin_owners.items()):
        if len(ids) > 1:
            problems.append(f"Latin alias {alias!r} claimed by {sorted(ids)}")

    universe = set(owners) | set(ambiguous)
    for alias in sorted(universe):
        for bare in clitic_readings(alias):
            if bare in universe:
                problems.append(f"alias {alias!r} is {bare!r} with a clitic; list the bare form only")
    return problems


def _years_ok(value) -> bool:
    if not isinstance(value, str):
        return False
    match = YEARS.fullmatch(value)
    return bool(match) and (not match.group(3) or int(match.group(3)) >= int(match.group(1)))


def _arabic_problems(where: str, key: str, alias) -> list[str]:
    if not isinstance(alias, str) or not ARABIC_ALIAS.fullmatch(alias):
        return [f"{where}: {key} entry {alias!r} is not Arabic letters and single spaces"]
    return []


def _latin_problems(where: str, alias) -> list[str]:
    if not isinstance(alias, str) or not LATIN_ALIAS.fullmatch(alias) or alias != alias.strip() or "  " in alias:
        return [f"{where}: names_latin entry {alias!r} is not a clean Latin name"]
    return []


def resolve(registry: dict, surface: str) -> str | None:
    """The id a surface form resolves to, reading clitics as the linker will (alias-rule defaults first)."""
    index = {}
    for entry in registry["actors"]:
        for alias in claimed_aliases(entry):
            index.setdefault(alias, entry["id"])
    defaults = {rule["alias"]: rule.get("default") for rule in registry.get("alias_rules") or []}
    for form in (surface, *clitic_readings(surface)):
        if form in defaults:
            return defaults[form]
        if form in index:
            return index[form]
    return None


@pytest.fixture(scope="module")
def registry() -> dict:
    with REGISTRY.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_registry_is_valid(registry):
    assert validate_registry(registry) == []


def test_registry_is_large_enough(registry):
    assert len(registry["actors"]) >= MIN_IDS


@pytest.mark.parametrize("actor_id", ANNOTATION_IDS)
def test_every_annotation_id_is_present(registry, actor_id):
    assert actor_id in {entry["id"] for entry in registry["actors"]}


@pytest.mark.parametrize(("surface", "expected"), [
    # the examples of ANNOTATION.md §5-§7
    ("فائز السراج", "LBY-GNA"), ("السراج", "LBY-GNA"), ("أردوغان", "TUR"), ("لافروف", "RUS"),
    ("ستولتنبرغ", "NATO"), ("غسان سلامة", "UNSMIL"), ("واشنطن", "USA"), ("الولايات المتحدة", "USA"),
    ("الجزائر", "DZA"), ("خليفة حفتر", "LBY-LNA"), ("عقيلة صالح", "LBY-HOR"), ("خالد المشري", "LBY-HCS"),
    ("خليفة الغويل", "LBY-GNS"), ("عبد الله الثني", "LBY-IG"), ("عبد الحميد الدبيبة", "LBY-GNU"),
    ("المؤتمر الوطني العام", "LBY-GNC"), ("المؤسسة الوطنية للنفط", "LBY-NOC"), ("مصرف ليبيا المركزي", "LBY-CBL"),
    ("خفر السواحل الليبي", "LBY-LCG"), ("جامعة الدول العربية", "LAS"), ("حلف شمال الأطلسي", "NATO"),
    ("تنظيم الدولة الإسلامية", "ISIS"), ("البنتاجون", "USA"),
    # corpus spellings with clitics, glued words and variants
    ("لحكومة الوفاق الوطني", "LBY-GNA"), ("للأمم المتحدة", "UN"), ("والولايات المتحدةالأمريكية", "USA"),
    ("وحفتر", "LBY-LNA"), ("بالمجلس الرئاسي", "LBY-GNA"), ("فايز السراج", "LBY-GNA"), ("المانيا", "DEU"),
    ("ستولتنبرج", "NATO"), ("حكومة طرابلس", "LBY-GNA"), ("فتحي باشاغا", "LBY-GNA"), ("غسان سلامه", "UNSMIL"),
    ("والإمارات", "ARE"), ("لليبيا", "LBY"),
])
def test_annotation_examples_resolve(registry, surface, expected):
    assert resolve(registry, surface) == expected


def test_places_that_are_only_places_resolve_to_nothing(registry):
    for place in ("سرت", "بنغازي", "مصراتة", "البحر المتوسط"):
        assert resolve(registry, place) is None


def test_clitic_readings():
    assert clitic_readings("والجزائر") == ["الجزائر"]
    assert "الأمم المتحدة" in clitic_readings("للأمم المتحدة")
    assert "حكومة الوفاق" in clitic_readings("وبحكومة الوفاق")
    assert clitic_readings("ليبيا") == ["يبيا"]
    assert "ليبيا" in clitic_readings("لليبيا")


def _minimal_registry() -> dict:
    return {
        "version": 1,
        "kinds": ["state", "government"],
        "alias_rules": [],
        "actors": [
            {"id": "DZA", "kind": "state", "country": "DZA", "name_en": "Algeria", "names_ar": ["الجزائر"]},
            {"id": "LBY", "kind": "state", "country": "LBY", "name_en": "Libya", "names_ar": ["ليبيا"]},
            {"id": "LBY-GNA", "kind": "government", "country": "LBY", "name_en": "GNA",
             "names_ar": ["حكومة الوفاق"],
             "people": [{"name_en": "Fayez al-Sarraj", "names_ar": ["السراج"], "years": "2016-2021"}]},
        ],
    }


def test_validator_accepts_a_minimal_registry():
    assert validate_registry(_minimal_registry()) == []


def test_validator_reports_each_fault():
    bad = _minimal_registry()
    bad["actors"].append(copy.deepcopy(bad["actors"][0]))                       # duplicate id
    bad["actors"].append({"id": "ALG", "kind": "state", "country": "ALG", "name_en": "Algiers",
                          "names_ar": ["الجزائر"]})                            # alias claimed twice
    bad["actors"].append({"id": "LBY-XX", "kind": "militia", "country": "LBY", "name_en": "X",
                          "names_ar": ["كتيبة"]})                              # unknown kind
    bad["actors"].append({"id": "Tripoli", "kind": "government", "name_en": "bad id", "names_ar": ["طرابلس"]})
    bad["actors"].append({"id": "EGY", "kind": "state", "country": "EGY", "name_en": "Egypt",
                          "names_ar": ["مصر", "ومصر", "Egypt", "مصر "]})         # clitic twin, Latin, space
    bad["actors"].append({"id": "TUN", "kind": "state", "country": "TN", "names_ar": []})  # no name, bad country
    bad["actors"][2]["people"].append({"name_en": "Fathi Bashagha", "names_ar": ["باشاغا"]})  # person without years
    problems = validate_registry(bad)
    expected = [
        "DZA: duplicate id",
        "alias 'الجزائر' claimed by ['ALG', 'DZA'] and named by no alias rule",
        "LBY-XX: unknown kind 'militia'",
        "Tripoli: id must be a short capitalised Latin name",
        "alias 'ومصر' is 'مصر' with a clitic; list the bare form only",
        "EGY: names_ar entry 'Egypt' is not Arabic letters and single spaces",
        "EGY: names_ar entry 'مصر ' is not Arabic letters and single spaces",
        "TUN: a state's country must be its own id, not 'TN'",
        "TUN: no name_en",
        "TUN: no Arabic name (names_ar)",
        "LBY-GNA person 'Fathi Bashagha': years None is not YYYY, YYYY-YYYY or YYYY-",
    ]
    for line in expected:
        assert line in problems, (line, problems)


def test_an_alias_rule_licenses_a_shared_alias():
    data = _minimal_registry()
    data["actors"].append({"id": "LBY-GNS", "kind": "government", "country": "LBY", "name_en": "GNS",
                           "names_ar": ["حكومة طرابلس"]})
    data["actors"][2]["names_ar"].append("حكومة طرابلس")
    shared = "alias 'حكومة طرابلس' claimed by ['LBY-GNA', 'LBY-GNS'] and named by no alias rule"
    assert validate_registry(data) == [shared]
    data["alias_rules"].append({"alias": "حكومة طرابلس", "default": "LBY-DZA", "note": "x"})
    assert validate_registry(data) == [
        "alias rule 'حكومة طرابلس': default 'LBY-DZA' is not an id of the registry",
        "alias rule 'حكومة طرابلس': default 'LBY-DZA' is none of the ids that claim it ['LBY-GNA', 'LBY-GNS']",
        "alias rule 'حكومة طرابلس': claimed also by ['LBY-GNA', 'LBY-GNS'], which `also` does not list",
    ]
    data["alias_rules"][0]["default"] = "LBY-GNA"
    assert validate_registry(data) == [
        "alias rule 'حكومة طرابلس': claimed also by ['LBY-GNS'], which `also` does not list",
    ]
    data["alias_rules"][0]["also"] = ["LBY-GNS"]
    assert validate_registry(data) == []


def test_ambiguous_forms_must_not_be_claimed():
    data = _minimal_registry()
    data["actors"][0]["ambiguous_ar"] = ["السراج"]
    assert validate_registry(data) == ["ambiguous form 'السراج' of ['DZA'] is also claimed by ['LBY-GNA']"]

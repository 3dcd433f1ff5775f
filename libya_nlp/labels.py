"""The label sets of the annotation scheme: their one home in the code.

Model configs are written from these tuples, readers and validators check against them.

>>> ENTITY_TYPES
('PER', 'ORG', 'LOC', 'MISC')
>>> bio_labels()[:3]
['O', 'B-PER', 'I-PER']
"""

from __future__ import annotations

ENTITY_TYPES: tuple[str, ...] = ("PER", "ORG", "LOC", "MISC")

REQUEST_TYPES: tuple[str, ...] = (
    "security_cooperation",
    "military_aid",
    "arms_embargo",
    "mediation",
    "political_support",
    "economic_aid",
    "migration_cooperation",
)

STANCE_LABELS: tuple[str, ...] = ("favor", "against", "none")

GNA_TARGET = "حكومة الوفاق الوطني"
HAFTAR_TARGET = "خليفة حفتر"
DEFAULT_STANCE_TARGET = GNA_TARGET

# The precisions a model can run in (``precision=`` of annotate() and the CLIs); their rules are
# in libya_nlp/precision.py. Kept here, with no torch import, so that command lines can list them.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "int8")

# Tags some corpora use for our types (ANERcorp writes PERS).
ENTITY_TYPE_ALIASES: dict[str, str] = {"PERS": "PER"}


def bio_labels(entity_types: tuple[str, ...] = ENTITY_TYPES) -> list[str]:
    """The IOB2 tag list, ``O`` first, then ``B-``/``I-`` for each type.

    >>> bio_labels(("PER",))
    ['O', 'B-PER', 'I-PER']
    """
    tags = ["O"]
    for entity_type in entity_types:
        tags += [f"B-{entity_type}", f"I-{entity_type}"]
    return tags


def canonical_tag(tag: str) -> str:
    """Map a corpus tag to this scheme (``B-PERS`` -> ``B-PER``); raise ``ValueError`` if unknown.

    >>> canonical_tag("I-PERS")
    'I-PER'
    """
    if tag == "O":
        return tag
    prefix, _, entity_type = tag.partition("-")
    entity_type = ENTITY_TYPE_ALIASES.get(entity_type, entity_type)
    if prefix not in ("B", "I") or entity_type not in ENTITY_TYPES:
        raise ValueError(f"unknown tag {tag!r}: expected O or B-/I- with one of {', '.join(ENTITY_TYPES)}")
    return f"{prefix}-{entity_type}"

# The CAMEO code closest to each request type (CAMEO 1.1b3, "02 Appeal"), for event tables.
# arms_embargo and political_support are both appeals for policy support (022): CAMEO has no
# appeal code for embargoes. migration_cooperation is an appeal for material cooperation (021).
CAMEO_CODES: dict[str, str] = {
    "security_cooperation": "0212",   # appeal for military cooperation
    "military_aid": "0232",           # appeal for military aid
    "arms_embargo": "022",            # appeal for diplomatic cooperation (policy support)
    "mediation": "028",               # appeal to engage in or accept mediation
    "political_support": "022",       # appeal for diplomatic cooperation (policy support)
    "economic_aid": "0231",           # appeal for economic aid
    "migration_cooperation": "021",   # appeal for material cooperation
}

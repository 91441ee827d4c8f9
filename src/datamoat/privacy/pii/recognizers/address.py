"""STREET_ADDRESS: street-shape patterns for English, Germanic, Nordic, Romance and Hungarian streets.

A street core is one of:

* ``number + Capitalised Words + suffix`` (``221B Baker Street``, ``039 Brianna Passage``);
  suffixes are the English street types (Street, St, Ave, Road, Rd, Lane, Blvd, ... plus the
  US/UK/AU lists Faker ships, e.g. Passage, Harbors, Crossroad);
* ``unit + number, Capitalised Words + suffix`` (``Flat 7, Ward River``);
* a compound or separate Germanic / Dutch / Nordic / Finnish / Hungarian street word followed by
  a house number (``Höfigstraße 7/8``, ``Orhan-Klemm-Gasse 91``, ``Ivylaan 90``,
  ``Hammarvägen 15``, ``Kiannonkatu 98``, ``Soproni tér 159.``);
* a Romance / Slavic street-type word (rue, boulevard, chemin, calle, avenida, Avda., paseo,
  plaza, rua, via, ul. ...) with a name, and a house number before or after it
  (``95, boulevard de Duval``, ``Paseo Sabas Cabezas 36``, ``ul. Słowicza 10``);
* PO boxes and US military addresses (``PO Box 12``, ``PSC 2721, Box 8637 APO AA 06259``).

The core is then extended over what commonly follows on the same line or the next lines: a
unit (``Apt. 601``, ``Suite 063``, ``Piso 9``), and ``, postcode City`` (US/DE/FR/ES five
digits, NL ``6815 NA``, UK ``CH32 6BG``, HU ``H-5578``), and ``City, ST 12345``. A bare city
line on its own is not taken (it is a place name, not an address). Score 0.6, 0.8 with an
address context word (address, live at, ship to, deliver ...) before it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from datamoat.privacy.pii.finding import Finding, context_before, folded, has_digit
from datamoat.privacy.pii.recognizers._regex import expand_literals, literal_alternation


@lru_cache(maxsize=1)
def _upper_class() -> str:
    """Every upper-case letter below U+3000, escaped for a character class."""
    return re.escape("".join(chr(c) for c in range(0x3000) if chr(c).isupper()))


UP = _upper_class()
WORD = r"[^\W\d_][\w'’\-]*"
CAPWORD = rf"[{UP}][\w'’\-]*\.?"
PARTICLE = r"(?:de|del|de\s+la|de\s+las|de\s+los|des|du|da|do|dos|das|di|della|van|von|der|den|la|le|les|el|of|the|y|e|and)"
NUM = r"\d{1,6}[A-Za-z]?(?:[\-/]\d{1,5}[A-Za-z]?)?"

_EN_SUFFIXES = (
    "Street St Avenue Ave Av Road Rd Lane Ln Boulevard Blvd Drive Dr Court Ct Place Pl Square Sq Terrace Ter "
    "Way Close Crescent Cres Parkway Pkwy Highway Hwy Circle Cir Trail Trl Row Grove Gardens Gdns Mews Walk "
    "Hill Heights Park Parade Alley Passage Plaza Loop Path Pike Route Rte Expressway Freeway Turnpike Causeway "
    "Wharf Quay Green Rise Vale View Views Wynd Yard Harbor Harbors Harbour Brook Brooks Ranch Mill Mills "
    "Meadow Meadows Point Points Lights Light Station Inlet Prairie Villages Village Isle Crossroad Crossing "
    "Ferry Tunnel Burg Burgs Well Wells River Bridge Junction Shoals Shore Shores Springs Spring Summit Track "
    "Valley Knoll Knolls Estate Estates Fields Field Forest Forge Fork Forks Glen Glens Haven Hollow Island "
    "Lake Lakes Landing Lodge Manor Manors Mount Mountain Orchard Oval Pines Port Ridge Ridges Run Skyway "
    "Spur Stravenue Stream Throughway Trace Trafficway Union Unions Underpass Via Viaduct Vista Vis Cape "
    "Center Centre Centers Cliff Cliffs Club Common Commons Corner Corners Course Courts Cove Coves Creek Dale "
    "Dam Divide Extension Ext Falls Flat Flats Fort Garden Gateway Grove Groves Heights Ville Ways Wall Walks "
    "Camp Canyon Branch Bypass Arcade Esplanade Promenade Embankment Drove Chase Broadway"
).split()


def _faker_suffixes() -> set[str]:
    """The English street suffixes Faker ships (USPS / Royal Mail / Australia Post lists)."""
    import importlib

    found: set[str] = set()
    for locale in ("en_US", "en_GB", "en_AU", "en_CA", "en_NZ", "en_IE"):
        try:
            prov = importlib.import_module(f"faker.providers.address.{locale}").Provider
        except (ImportError, AttributeError):  # pragma: no cover
            continue
        for value in getattr(prov, "street_suffixes", ()):
            if isinstance(value, str) and value.strip().replace(" ", "").isalpha():
                found.add(value.strip())
    return found


_SUFFIX_ALT = "|".join(sorted(set(_EN_SUFFIXES) | _faker_suffixes(), key=len, reverse=True))
_GERMANIC = (
    "straße strasse str\\. gasse platz allee ring weg damm ufer chaussee steig pfad markt "
    "straat laan gracht plein kade singel dijk hof steeg dreef baan pad lei "
    "vägen gatan gränd stigen torget gata vej gade stræde veien vegen gaten "
    "katu tie kuja polku tori kaari rinne väylä bulevardi vegur stræti"
).split()
_HU_SEPARATE = "utca|u\\.|út|tér|köz|körút|sétány|sor|fasor|rakpart"
_ROMANCE_PREFIX = (
    r"rue|boulevard|bd\.?|bvd\.?|chemin|allée|impasse|quai|place|avenue|av\.|route|cours|passage|"
    r"calle|c/|avenida|avda\.?|paseo|plaza|camino|carrera|cuesta|cañada|alameda|ronda|rambla|travesía|"
    r"glorieta|urbanización|callejón|vía|via|viale|piazza|piazzale|corso|largo|vicolo|strada|"
    r"rua|r\.|travessa|praça|estrada|"
    r"ul\.|ulica|al\.|aleja|plac|os\.|trg|cesta|ulitsa|strada|bulevardul|aleea|calea|"
    r"jalan|jl\.|jln\.?"
)
_UNIT = r"(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.?|Room|Rm\.?|Piso|Bldg\.?|Building|Studio|#|No\.?|Nr\.?|Bus|Boîte|Étage|Escalera|Puerta|Dpto\.?|Depto\.?)"
_POSTCODE = (
    r"(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"  # UK
    r"|[A-Z]\d[A-Z]\s?\d[A-Z]\d"  # CA
    r"|\d{4}\s?[A-Z]{2}(?![a-z])"  # NL
    r"|[A-Z]{1,2}-\d{4,5}"  # H-5578, D-12345
    r"|\d{5}(?:-\d{4})?|\d{4}|\d{2}-\d{3})"
)
_CITY = rf"{CAPWORD}(?:[ \t\-]+{CAPWORD}){{0,2}}"


def street_words() -> frozenset[str]:
    """Street-type words of every list above, lower-cased (``street``, ``rd``, ``straße``, ``utca``,
    ``calle``, ...): the PII tagger's street-type feature."""
    words = {w.lower() for w in _SUFFIX_ALT.split("|")} | {w.rstrip("\\.") for w in _GERMANIC}
    for alt in (_HU_SEPARATE, _ROMANCE_PREFIX):
        words.update(w.replace("\\", "").rstrip(".?") for w in alt.split("|"))
    return frozenset(w for w in words if w.isalpha())

_RISKY_RING = {"string", "spring", "offspring", "hamstring", "mainspring", "wellspring", "bring"}

EN_CORE = re.compile(
    rf"{NUM},?[ \t]+(?:\d{{1,4}}[ \t]+)?"
    rf"(?:(?:{CAPWORD}|{PARTICLE})[ \t]+){{0,4}}(?:{_SUFFIX_ALT})\b\.?"
)
UNIT_CORE = re.compile(
    rf"(?<![\w\-/.])(?:Flat|Studio|Apartment|Apt\.?|Unit|Suite)[ \t]+\w{{1,6}},[ \t]+"
    rf"(?:{CAPWORD}[ \t]+){{1,3}}(?:{_SUFFIX_ALT})\b\.?"
)
GERMANIC_CORE = re.compile(
    rf"(?<![\w\-])(?:{CAPWORD}[ \t\-])?(?P<word>[{UP}][\w'’\-]*?(?i:{'|'.join(_GERMANIC)}))"
    rf"(?:[ \t]+{CAPWORD}){{0,2}}[ \t]*,?[ \t]+{NUM}\.?(?![\w])"
)
GERMANIC_SEPARATE = re.compile(
    rf"(?<![\w\-]){CAPWORD}[ \t\-]+(?:{WORD}[ \t\-]+){{0,2}}(?:{'|'.join(s.capitalize() for s in _GERMANIC if s.isalpha())}|{_HU_SEPARATE})"
    rf"[ \t]+{NUM}\.?(?![\w])"
)
ROMANCE_CORE = re.compile(
    rf"(?<![\w\-])(?:(?P<num>{NUM}),?[ \t]+)?(?P<prefix>(?i:{_ROMANCE_PREFIX}))[ \t]+"
    rf"(?:(?:{PARTICLE})[ \t]+){{0,2}}(?:{CAPWORD}|\d{{1,2}})(?:[ \t]+(?:{CAPWORD}|{PARTICLE})){{0,5}}"
    rf"(?:[ \t]+(?P<num2>{NUM})(?![\w]))?"
)
FRENCH_NO_NUMBER = re.compile(
    rf"(?<![\w\-])(?:rue|boulevard|chemin|impasse|allée|quai|avenue)[ \t]+(?:(?:de|du|des|de[ \t]+la|d'|l')[ \t]*)?"
    rf"{CAPWORD}(?:[ \t]+{CAPWORD}){{0,3}}"
)
POBOX = re.compile(r"(?i)(?<![\w])(?:P\.?\s?O\.?\s+Box|Post\s+Office\s+Box|Postbox|Postfach|Apartado(?:\s+de\s+correos)?|Box)\s+\d{1,6}\b")
MILITARY = re.compile(
    r"(?i)(?<![\w])(?:(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{1,5}|(?:USNS|USNV|USS|USCGC)\s+[^\W\d_]+)"
    r"\s*\n?\s*(?:APO|FPO|DPO)\s+A[AEP]\s+\d{5}\b"
)
_UNIT_TAIL = re.compile(rf"[ \t]*,?[ \t]*\n?[ \t]*(?<![\w]){_UNIT}[ \t]*[\w\-]{{1,6}}\.?(?![\w])")
_ZIP_CITY_TAIL = re.compile(rf",?[ \t]+{_POSTCODE}[ \t]+{_CITY}")
_CITY_STATE_ZIP_TAIL = re.compile(rf",[ \t]*{_CITY},?[ \t]+[A-Z]{{2}}[ \t]+\d{{5}}(?:-\d{{4}})?(?![\w])")
_CITY_TAIL = re.compile(rf",[ \t]+{_CITY}(?=[ \t]*(?:[.!?;)]|$|\n| and\b| from\b| instead\b| if\b| please\b))")
_ZIP_LINE_TAIL = re.compile(rf"[ \t]*\n[ \t]*,?[ \t]*{_POSTCODE}[ \t]*(?=\n|$)")
_ADDRESS_CTX = re.compile(
    r"(?i)\b(?:address|live[sd]?\s+(?:at|in)|living\s+at|ship(?:ped|ping)?\s+(?:it\s+)?to|deliver(?:ed|y)?\s+(?:it\s+)?to|"
    r"send\s+(?:it\s+)?to|located\s+at|moved\s+to|residence|domicile|adresse|anschrift|dirección|indirizzo|adres|lakcím|cím)\b"
)


def _extend(text: str, end: int, with_city: bool) -> int:
    """Extend a street core over a unit and ``, postcode City`` / ``City, ST zip`` tails."""
    for _ in range(3):
        for pattern in (_UNIT_TAIL, _CITY_STATE_ZIP_TAIL, _ZIP_CITY_TAIL, _ZIP_LINE_TAIL):
            m = pattern.match(text, end)
            if m:
                end = m.end()
                break
        else:
            break
    if with_city:
        m = _CITY_TAIL.match(text, end)
        if m:
            end = m.end()
    return end


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in " \t\n,;:.":
        end -= 1
    return start, end


_NUMBER_START = re.compile(r"(?<![\w\-/.])\d")
_WORD_RE = re.compile(r"[^\W\d_]+")
_SUFFIX_SET = frozenset(_SUFFIX_ALT.split("|"))
_GERMANIC_PLAIN = tuple(s.replace("\\", "") for s in _GERMANIC) + tuple(s.replace("\\", "") for s in _HU_SEPARATE.split("|"))
# prefilters (necessary conditions of the patterns they guard), as tries (see _regex)
_GERMANIC_ANY = re.compile(literal_alternation(_GERMANIC_PLAIN))  # on text.lower()
_ROMANCE_PREFILTER = re.compile(rf"(?i)(?<![\w])(?:{_ROMANCE_PREFIX})[ \t]")
_ROMANCE_PREFILTER_FOLDED = re.compile(rf"(?<![\w])(?:{literal_alternation(expand_literals(_ROMANCE_PREFIX))})[ \t]")
_BOX_PREFILTER = re.compile(r"(?i)\bbox\b|postfach|apartado")
_BOX_PREFILTER_FOLDED = re.compile(r"\bbox\b|postfach|apartado")


def find_addresses(text: str) -> list[Finding]:
    if not has_digit(text):
        return []
    spans: list[tuple[int, int, float]] = []
    if not _SUFFIX_SET.isdisjoint(_WORD_RE.findall(text)):
        pos = 0
        for d in _NUMBER_START.finditer(text):  # EN_CORE only starts at a house number
            if d.start() < pos:
                continue
            m = EN_CORE.match(text, d.start())
            if m:
                spans.append((m.start(), m.end(), 0.6))
                pos = m.end()
        for m in UNIT_CORE.finditer(text):
            spans.append((m.start(), m.end(), 0.6))
    low = folded(text)  # the case-insensitive prefilters run case-sensitively on it
    lowered = low if low is not None else text.lower()
    germanic = (GERMANIC_CORE, GERMANIC_SEPARATE) if _GERMANIC_ANY.search(lowered) else ()
    for pattern in germanic:
        for m in pattern.finditer(text):
            word = (m.groupdict().get("word") or "").lower()
            if word.endswith("ring") and (word in _RISKY_RING or len(word) < 8 or word[-5] in "aeiouy"):
                continue
            if word and len(word) < 5:
                continue
            spans.append((m.start(), m.end(), 0.6))
    if low is not None:
        romance = _ROMANCE_PREFILTER_FOLDED.search(low) is not None
        box = ("box" in low or "postfach" in low or "apartado" in low) and _BOX_PREFILTER_FOLDED.search(low) is not None
    else:
        romance = _ROMANCE_PREFILTER.search(text) is not None
        box = _BOX_PREFILTER.search(text) is not None
    for m in ROMANCE_CORE.finditer(text) if romance else ():
        if not (m.group("num") or m.group("num2")):
            continue
        prefix = m.group("prefix")
        score = 0.6 if (prefix[0].isupper() or prefix.lower() in ("rue", "boulevard", "chemin", "calle", "avenida")) else 0.45
        spans.append((m.start(), m.end(), score))
    for m in FRENCH_NO_NUMBER.finditer(text) if romance else ():
        spans.append((m.start(), m.end(), 0.5))
    for pattern in (POBOX, MILITARY) if box else ():
        for m in pattern.finditer(text):
            spans.append((m.start(), m.end(), 0.55 if pattern is POBOX else 0.7))
    if not spans:
        return []
    out = []
    for start, end, score in spans:
        start, end = _strip(text, start, _extend(text, end, with_city=False))
        if context_before(text, start, _ADDRESS_CTX, 40):
            score += 0.2
        out.append(Finding("STREET_ADDRESS", start, end, min(score, 0.9), "address_pattern"))
    return _merge(out)


def _merge(found: list[Finding]) -> list[Finding]:
    """Merge overlapping or touching (", " / newline apart) address spans into one."""
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in found:
        if merged and f.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding(last.entity_type, last.start, max(last.end, f.end), max(last.score, f.score), last.recognizer)
        else:
            merged.append(f)
    return merged

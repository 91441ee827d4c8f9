"""PERSON: a name gazetteer, context patterns and capitalisation rules (no model).

Gazetteer: the first and last names of every Faker locale (``faker.providers.person.*``, about
31k first and 29k last names in many scripts), loaded once per process (~0.2 s). Common words
that are also names (``Will``, ``May``, ``Hope``, ``Mark``, ``Park``, ``Green``) are "weak": they
count as a name only next to a strong name token or after a context cue. The common-word list
is Faker's English lorem list plus the hand-written :data:`COMMON_EXTRA`; month and day
names, countries, greetings, company and street words are "blockers", never part of a name.

A *chunk* is a run of capitalised tokens on one line separated by spaces (``Vanessa P.
Hertzog``, ``Ludwig van Beethoven``, ``Molnár Péter``). A chunk is a PERSON when:

* it follows a context cue (``my name is``, ``I'm``, ``this is``, ``Mr./Ms./Dr.``, ``Dear``,
  ``Hi``, ``Thanks,``, ``Regards,``, ``my husband/wife/son/...``, ``contact``, ``Name:``,
  a sign-off line), in which case unknown capitalised words count (score 0.8); or
* it has two or more tokens and at least one strong name token, the rest being names,
  initials, particles or unknown capitalised words (0.7-0.85); or
* it is one strong first name (0.6; 0.5 at the start of a sentence) or one strong last name
  not at the start of a sentence (0.45).

All-caps words are not names (they are headings, acronyms, cities in addresses). Lower-case
names are found only after ``my name is`` / ``name:`` / ``call me`` when the gazetteer knows them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache

from datamoat.privacy.pii.finding import Finding

TITLES = {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame", "lord", "lady", "rev", "fr",
    "herr", "frau", "mme", "mlle", "sr", "sra", "srta", "señor", "señora", "signor", "signora", "sig",
    "dott", "ing", "mevrouw", "meneer", "dhr", "mevr", "úr", "asszony", "capt", "col", "gen", "sgt", "hon",
}
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "della", "dos", "das", "du", "la", "le", "bin", "ibn", "al", "el", "ter", "ten", "zu", "y"}
GREETINGS = {"hi", "hello", "hey", "dear", "thanks", "thank", "regards", "cheers", "best", "kind", "sincerely", "greetings", "welcome", "bye", "goodbye", "hallo", "bonjour", "hola", "ciao", "liebe", "lieber", "cher", "chère", "querido", "querida", "beste", "szia", "yours", "respectfully", "warm", "warmest", "many", "love"}
MONTHS_DAYS = set(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thurs fri sat sun "
    "januar februar märz mai juni juli oktober dezember montag dienstag mittwoch donnerstag freitag samstag sonntag "
    "janvier février mars avril juin juillet août septembre octobre novembre décembre lundi mardi mercredi jeudi vendredi samedi dimanche "
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre lunes martes miércoles jueves viernes sábado domingo".split()
)
BLOCKERS_EXTRA = set(
    "street st road rd avenue ave lane ln boulevard blvd drive court place square way plaza apt suite unit flat "
    "inc ltd llc gmbh ag plc corp co company corporation group bank university college school hospital clinic "
    "hotel airport station church club team support service services customer customers department dept "
    "office center centre institute foundation association society council ministry agency committee "
    "account card order invoice payment refund ticket email phone iban visa mastercard amex paypal "
    "north south east west northern southern eastern western new old saint san santa santo "
    "god jesus christ christmas easter ramadan hanukkah halloween thanksgiving "
    "ok okay yes no please sorry hey hmm thx pls fyi asap btw "
    "mr mrs ms dr prof the a an i i'm i've i'll i'd my we our you your he she they it this that these those "
    "app website web internet online login password username user admin error bug issue problem update "
    "chrome safari firefox edge opera android iphone ipad windows mac macos linux ios google apple amazon microsoft "
    "paypal stripe klarna ebay facebook instagram whatsapp twitter youtube netflix spotify zoom slack "
    "dhl ups fedex usps hermes dpd gls evri tnt royal mail post parcelforce".split()
)
NATIONALITIES = set(
    "english french german spanish italian dutch hungarian polish russian chinese japanese american british european "
    "irish scottish welsh canadian australian indian mexican brazilian swiss austrian belgian swedish danish finnish".split()
)
COMMON_EXTRA = set(
    "will may mark bill grant hope joy faith grace rose summer autumn winter spring dawn eve guy art max "
    "page case ward hall hill park green brown white black gray grey young long short king queen prince "
    "price bell bank banks bush carter cook cooper baker miller mason hunter fisher farmer turner porter "
    "walker rider barber butcher gardener potter shepherd smith taylor wood woods field fields ford "
    "rich bright sharp strong little small short love lovely sweet honey happy merry early late sunny "
    "star sky rain storm river lake brook sea ocean stone rock cliff dale glen heath moor "
    "major general chief judge justice noble duke earl baron knight page "
    "said says told asked call called contact note notes subject re fw fwd regarding attached "
    "just also still even already again now then there here where when what which who whom whose why how "
    "after before during since until while because although though unless whether "
    "hello thanks regards all any some every each both either neither other another such "
    "today tomorrow yesterday tonight morning afternoon evening night week weekend month year day "
    "first second third last next final new old good bad great best better worse worst "
    "please could would should might must can cannot can't won't don't didn't isn't wasn't "
    "i'm i've i'd i'll it's that's there's let let's got get have has had did does do done "
    "my your our their his her its mine yours ours theirs one two three four five six seven eight nine ten "
    "order orders delivery package parcel shipping refund return payment account card bank transfer "
    "item items product products price service support help team customer issue problem question "
    "received sent send paid charged waiting still never always sometimes usually really very "
    "unfortunately however anyway also otherwise meanwhile finally actually basically honestly "
    "dear hi hey ok okay yes no sure fine great cool awesome perfect excellent "
    "and or but nor for so yet to of in on at by with from into onto upon about over under "
    "between among through across along around behind beyond within without against toward towards "
    "is am are was were be been being not".split()
)
_CONTEXT_BEFORE = re.compile(
    r"(?i)(?:\bmy\s+name\s+is|\bname\s*(?:is|:)|\bi\s+am|\bi'm|\bi’m|\bthis\s+is|\bit'?s|\bcalled|\bnamed|"
    r"\bsigned|\bcontact|\bspeak\s+(?:to|with)|\bspoke\s+(?:to|with)|\btalk(?:ed)?\s+to|\bask\s+for|\battn\.?:?|"
    r"\bc/o|\bcare\s+of|\bfrom|\bby|\bwith|\bdear|\bhi|\bhello|\bhey|"
    r"\b(?:husband|wife|son|daughter|mother|mom|mum|father|dad|brother|sister|partner|friend|colleague|"
    r"boss|manager|neighbou?r|uncle|aunt|cousin|grandmother|grandfather|nephew|niece|fiancée?|"
    r"customer|client|patient|employee|agent|representative|rep|technician|driver|landlord|tenant)|"
    r"\b(?:thanks|thank\s+you|regards|cheers|best|sincerely|yours|greetings|love)\s*[,!.]?|^\s*-)\s*[,:]?\s*$"
)
_STRONG_CONTEXT = re.compile(
    r"(?i)(?:\bmy\s+name\s+is|\bname\s*(?:is|:)|\bi\s+am|\bi'm|\bi’m|\bthis\s+is|\bcalled|\bnamed|"
    r"\bsigned|\bcontact|\bspeak\s+(?:to|with)|\bspoke\s+(?:to|with)|\btalk(?:ed)?\s+to|\bask\s+for|\battn\.?:?|"
    r"\b(?:husband|wife|son|daughter|mother|mom|mum|father|dad|brother|sister|partner|friend|colleague|"
    r"uncle|aunt|cousin|grandmother|grandfather|nephew|niece|fiancée?))\s*[,:]?\s*$"
)
_GREETING_CONTEXT = re.compile(
    r"(?i)(?:\bdear|\bhi|\bhello|\bhey|\b(?:thanks|thank\s+you|regards|cheers|best|sincerely|yours|greetings)\s*[,!.]?\s*\n?|"
    r"(?:^|\n)\s*-)\s*[,:]?\s*$"
)
_NAME_END = re.compile(r"^(?:\s*(?:[,!.:;)\n]|$)|\s+(?:here|from|at|and|writing|speaking|-)\b)")
_CONTEXT_AFTER = re.compile(r"^(?:\s+(?:says|said|wrote|writes|asked|told|explained|replied)\b|,\s+(?:who|the\s+\w+\s+of)\b)")
_LOWER_CONTEXT = re.compile(r"(?i)(?:\bmy\s+name\s+is|\bname\s*:|\bcall\s+me|\bi\s+am|\bi'm)\s*$")

_LOWER_ANY = re.compile(r"(?i)name|call\s+me|i\s+am|i'm")
TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?")


@dataclass(frozen=True)
class Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str]
    blockers: frozenset[str]


def _provider_names(attr: str, prov: type) -> list[str]:
    for cls in prov.__mro__:
        value = cls.__dict__.get(attr)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            return [str(v) for v in value]
    return []


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Load the name lists from Faker's person providers (once per process)."""
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        try:
            prov = importlib.import_module(f"faker.providers.person.{info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            first.update(n.casefold() for n in _provider_names(attr, prov))
        last.update(n.casefold() for n in _provider_names("last_names", prov))
    common: set[str] = set(COMMON_EXTRA) | NATIONALITIES
    for locale in ("en_US", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT"):
        try:
            lorem = importlib.import_module(f"faker.providers.lorem.{locale}").Provider
        except (ImportError, AttributeError):  # pragma: no cover
            continue
        words = list(getattr(lorem, "word_list", ()))
        for group in getattr(lorem, "parts_of_speech", {}).values():
            words.extend(group)
        common.update(w.casefold() for w in words if isinstance(w, str))
    blockers: set[str] = set(MONTHS_DAYS) | BLOCKERS_EXTRA | GREETINGS
    try:
        from faker.providers.address.en_US import Provider as Address

        blockers.update(c.casefold() for c in Address.countries if " " not in c)
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    split = {w for n in first | last for w in n.split()}
    first = {n for n in first if " " not in n} | {w for w in split if w in first}
    return Gazetteer(frozenset(first), frozenset(last), frozenset(common - TITLES), frozenset(blockers))


def _is_cap(tok: str) -> bool:
    """Title-case token (Name, O'Brien, McDonald, Ödön) or an initial (P / P.); not ALL CAPS."""
    core = tok.rstrip(".")
    if not core or not core[0].isupper():
        return False
    if len(core) == 1:
        return True
    return any(c.islower() for c in core[1:])


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'“‘(":
        i -= 1
    return i < 0 or text[i] in ".!?\n:;>•*-"


def find_persons(text: str) -> list[Finding]:
    g = gazetteer()
    tokens = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]
    out: list[Finding] = []
    lower_ok = _LOWER_ANY.search(text) is not None  # lower-case names only after "my name is" & co
    i, n = 0, len(tokens)
    while i < n:
        s, e, tok = tokens[i]
        if not _is_cap(tok):
            if lower_ok:
                low = _lower_name(text, tokens, i, g)
                if low:
                    out.append(low)
            i += 1
            continue
        # grow the chunk: capitalised tokens / particles separated by spaces on one line
        j = i + 1
        while j < n:
            gap = text[tokens[j - 1][1] : tokens[j][0]]
            if gap.strip(" \t") or len(gap) > 3 or (gap == "" and not tokens[j - 1][2].endswith(".")):
                break
            prev = tokens[j - 1][2]
            if prev.endswith(".") and len(prev) > 2 and prev[:-1].casefold() not in TITLES:
                break  # "Ven. Tracking": a full stop after a word ends the sentence
            tj = tokens[j][2]
            if _is_cap(tj):
                j += 1
            elif tj.casefold() in PARTICLES:
                k = j
                while k < n and tokens[k][2].casefold() in PARTICLES and text[tokens[k - 1][1] : tokens[k][0]] == " ":
                    k += 1
                if k < n and k > j and _is_cap(tokens[k][2]) and text[tokens[k - 1][1] : tokens[k][0]] == " ":
                    j = k + 1
                else:
                    break
            else:
                break
        out.extend(_judge_chunk(text, tokens[i:j], g))
        i = j
    return out


def _lower_name(text: str, tokens: list, i: int, g: Gazetteer) -> Finding | None:
    s, e, tok = tokens[i]
    key = tok.casefold().rstrip(".")
    if key not in g.first and key not in g.last:
        return None
    if key in g.common or key in g.blockers or not _LOWER_CONTEXT.search(text, max(0, s - 20), s):
        return None
    end = e
    if i + 1 < len(tokens):
        s2, e2, tok2 = tokens[i + 1]
        k2 = tok2.casefold().rstrip(".")
        if text[e:s2] == " " and k2 in g.last and k2 not in g.common:
            end = e2
    return Finding("PERSON", s, end, 0.6, "name_context")


def _judge_chunk(text: str, chunk: list[tuple[int, int, str]], g: Gazetteer) -> list[Finding]:
    """PERSON findings inside one chunk of capitalised tokens."""
    results: list[Finding] = []
    titled = False
    # split at blockers; titles mark the next part as a name
    part: list[tuple[int, int, str]] = []
    parts: list[tuple[list[tuple[int, int, str]], bool]] = []
    for tok in chunk:
        key = tok[2].casefold().rstrip(".")
        if key in TITLES and (tok[2].endswith(".") or key in ("mr", "mrs", "ms", "dr", "herr", "frau", "miss", "sir", "madam", "mme", "prof")):
            if part:
                parts.append((part, titled))
            part, titled = [], True
            continue
        if key in g.blockers or key in GREETINGS:
            if part:
                parts.append((part, titled))
            part, titled = [], False
            continue
        part.append(tok)
    if part:
        parts.append((part, titled))
    for toks, has_title in parts:
        f = _judge_part(text, toks, g, has_title)
        if f is not None:
            results.append(f)
    return results


def _judge_part(text: str, toks: list[tuple[int, int, str]], g: Gazetteer, titled: bool) -> Finding | None:
    # drop leading/trailing common words that are not names (e.g. "Yesterday", "Please")
    def kind(tok: str) -> str:
        key = tok.casefold().rstrip(".")
        core = tok.rstrip(".")
        if len(core) == 1:
            return "initial"
        if key in PARTICLES:
            return "particle"
        is_name = key in g.first or key in g.last
        if key in g.common:
            return "weak" if is_name else "common"
        if key in g.first:
            return "first"
        if key in g.last:
            return "last"
        return "unknown"

    kinds = [kind(t[2]) for t in toks]
    for i in range(1, len(kinds)):
        if kinds[i] == "common" and kinds[i - 1] == "particle" and i > 1:
            kinds[i] = "last"  # "de Bruin", "van der Berg": after a particle it is a surname
    while toks and kinds[0] in ("common", "particle", "initial") and not (kinds[0] == "initial" and len(toks) > 1):
        toks, kinds = toks[1:], kinds[1:]
    while toks and kinds[-1] in ("common", "particle", "initial"):
        toks, kinds = toks[:-1], kinds[:-1]
    if not toks or "common" in kinds:
        if toks and "common" in kinds:
            # cut at the first common word and judge the longest clean stretch before it
            cut = kinds.index("common")
            return _judge_part(text, toks[:cut], g, titled) if cut else _judge_part(text, toks[cut + 1 :], g, False)
        return None
    start, end = toks[0][0], toks[-1][1]
    if text[end - 1] == "." and kinds[-1] != "initial":
        end -= 1
    strong = sum(k in ("first", "last") for k in kinds)
    names = sum(k in ("first", "last", "weak") for k in kinds)
    if not names and "unknown" not in kinds:
        return None
    n = len(toks)
    if n >= 2 and kinds[0] == "first" and kinds[-1] in ("last", "first", "weak"):
        # a clear "First Last": no context needed (the quoted-title rule still applies)
        if start > 0 and text[start - 1] in "\"“«" and text[end : end + 1] in "\"”»":
            return None
        return Finding("PERSON", start, end, 0.85, "name_gazetteer")
    before = text[max(0, start - 40) : start]
    after = text[end : end + 20]
    ctx = (
        titled
        or bool(_STRONG_CONTEXT.search(before))
        or (bool(_GREETING_CONTEXT.search(before)) and bool(_NAME_END.match(after)))
        or (strong > 0 and bool(_CONTEXT_AFTER.match(after)))
    )
    weak_ctx = ctx or (n == 1 and bool(_CONTEXT_BEFORE.search(before)))
    at_start = _sentence_start(text, start)
    if not ctx and start > 0 and text[start - 1] in "\"“'«" and text[end : end + 1] in "\"”'»":
        return None  # a quoted capitalised phrase is a product or a title, not a person
    score = 0.0
    if ctx and len([k for k in kinds if k != "particle"]) <= 4 and (names or "unknown" in kinds):
        score = 0.8 if (strong or titled) else 0.65
    if n >= 2:
        if strong and n <= 4:
            score = max(score, 0.7)
        elif names >= 2 and n <= 3:
            score = max(score, 0.5 if weak_ctx else 0.35)
    elif n == 1:
        k = kinds[0]
        if k == "first":
            score = max(score, 0.5 if at_start else 0.6)
            if weak_ctx:
                score = max(score, 0.7)
        elif k == "last":
            score = max(score, 0.3 if at_start else 0.38)
        elif k == "weak" and weak_ctx and not at_start and _NAME_END.match(after):
            score = max(score, 0.45)
    if score <= 0:
        return None
    return Finding("PERSON", start, end, score, "name_gazetteer" if not ctx else "name_context")

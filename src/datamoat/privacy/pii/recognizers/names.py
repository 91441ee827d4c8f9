"""PERSON: a name gazetteer, context patterns and capitalisation rules (no model).

Gazetteer: the first and last names of every Faker locale (``faker.providers.person.*``, about
31k first and 29k last names in many scripts), loaded once per process (~0.2 s). Common words
that are also names (``Will``, ``May``, ``Hope``, ``Mark``, ``Park``, ``Green``) are "weak": they
count as a name only next to a strong name token or after a context cue. The common-word list
is Faker's English lorem list plus the hand-written :data:`COMMON_EXTRA`; month and day
names, countries, greetings, company and street words are "blockers", never part of a name.

A *chunk* is a run of capitalised tokens on one line separated by spaces (``Vanessa P.
Hertzog``, ``Ludwig van Beethoven``, ``Molnár Péter``). A chunk is a PERSON when:

* it follows a context cue (``my name is``, ``I'm``, ``this is``, ``Mr./Ms./Dr.``, ``Dear``, ``Good morning``,
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
from dataclasses import dataclass, field
from functools import lru_cache

from datamoat.privacy.pii.finding import Finding, folded
from datamoat.privacy.pii.recognizers._regex import TailPattern

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
PERSON_WORDS = (
    r"husband|wife|son|daughter|mother|mom|mum|father|dad|brother|sister|partner|friend|colleague|"
    r"boss|manager|neighbou?r|uncle|aunt|cousin|grandmother|grandfather|nephew|niece|fiancée?|"
    r"customer|client|patient|employee|agent|representative|rep|technician|driver|landlord|tenant"
)
"""Regex source: words for a person that a name follows (``my mother, Anna``, ``employee Tom``)."""
HELLO = r"\b(?:dear|hi|hello|hey)|\bgood\s+(?:morning|afternoon|evening)"
"""Regex source: a greeting that a name follows (``Dear``, ``Good morning``)."""
NAME_CONTEXT_BEFORE = re.compile(
    r"(?i)(?:\bmy\s+name\s+is|\bname\s*(?:is|:)|\bi\s+am|\bi'm|\bi’m|\bthis\s+is|\bit'?s|\bcalled|\bnamed|"
    r"\bsigned|\bcontact|\bspeak\s+(?:to|with)|\bspoke\s+(?:to|with)|\btalk(?:ed)?\s+to|\bask\s+for|\battn\.?:?|"
    r"\bc/o|\bcare\s+of|\bfrom|\bby|\bwith|" + HELLO + r"|\b(?:" + PERSON_WORDS + r")|"
    r"\b(?:thanks|thank\s+you|regards|cheers|best|sincerely|yours|greetings|love)\s*[,!.]?|^\s*-)\s*[,:]?\s*$"
)
_STRONG_CONTEXT = re.compile(
    r"(?i)(?:\bmy\s+name\s+is|\bname\s*(?:is|:)|\bi\s+am|\bi'm|\bi’m|\bthis\s+is|\bcalled|\bnamed|"
    r"\bsigned|\bcontact|\bspeak\s+(?:to|with)|\bspoke\s+(?:to|with)|\btalk(?:ed)?\s+to|\bask\s+for|\battn\.?:?|"
    r"\b(?:husband|wife|son|daughter|mother|mom|mum|father|dad|brother|sister|partner|friend|colleague|"
    r"uncle|aunt|cousin|grandmother|grandfather|nephew|niece|fiancée?))\s*[,:]?\s*$"
)
_GREETING_CONTEXT = re.compile(
    r"(?i)(?:" + HELLO + r"|\b(?:thanks|thank\s+you|regards|cheers|best|sincerely|yours|greetings)\s*[,!.]?\s*\n?|"
    r"(?:^|\n)\s*-)\s*[,:]?\s*$"
)
_NAME_END = re.compile(r"^(?:\s*(?:[,!.:;)\n]|$)|\s+(?:here|from|at|and|writing|speaking|-)\b)")
_CONTEXT_AFTER = re.compile(r"^(?:\s+(?:says|said|wrote|writes|asked|told|explained|replied)\b|,\s+(?:who|the\s+\w+\s+of)\b)")
_LOWER_CONTEXT = re.compile(r"(?i)(?:\bmy\s+name\s+is|\bname\s*:|\bcall\s+me|\bi\s+am|\bi'm)\s*$")

_LOWER_ANY_SOURCE = r"name|call\s+me|i\s+am|i'm"
_LOWER_ANY = re.compile("(?i)" + _LOWER_ANY_SOURCE)
_LOWER_ANY_FOLDED = re.compile(_LOWER_ANY_SOURCE)  # the same, on folded text
TOKEN_RE = re.compile(r"[^\W\d_]+(?:['’\-](?![sS]\b)[^\W\d_]+)*\.?")
# the same tests as ``pattern.search(before)``, in one match attempt on the reversed window
_STRONG_TAIL = TailPattern(_STRONG_CONTEXT)
_GREETING_TAIL = TailPattern(_GREETING_CONTEXT)
_BEFORE_TAIL = TailPattern(NAME_CONTEXT_BEFORE)
_TAILS_FOLD = _STRONG_TAIL.foldable and _GREETING_TAIL.foldable and _BEFORE_TAIL.foldable


@dataclass(frozen=True)
class Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    common: frozenset[str]
    blockers: frozenset[str]
    kinds: dict[str, str] = field(default_factory=dict, compare=False)
    """Casefolded key -> its kind in a chunk (see :func:`_kinds`)."""


def _kinds(first: frozenset[str], last: frozenset[str], common: frozenset[str], blockers: frozenset[str]) -> dict[str, str]:
    """Casefolded key -> kind, so that one dict lookup classifies a token in a chunk.

    Precedence: a blocker (it splits a chunk, never part of a name), then a particle
    (``van``), then a common word that is also a name ("weak", like ``Will``) or is not
    ("common"), then a first name, then a last name. Keys not in the dict are "unknown".
    """
    kinds = dict.fromkeys(last, "last")
    kinds.update(dict.fromkeys(first, "first"))
    kinds.update({k: "weak" if k in first or k in last else "common" for k in common})
    kinds.update(dict.fromkeys(PARTICLES, "particle"))
    kinds.update(dict.fromkeys(blockers | GREETINGS, "blocker"))
    return kinds


def provider_values(attr: str, prov: type) -> list[str]:
    """The strings of a Faker provider's list attribute ``attr`` (a dict gives its keys), looked
    up as the class would (its own, else a base class's); [] when no class defines it."""
    for cls in prov.__mro__:
        value = cls.__dict__.get(attr)
        if isinstance(value, (list, tuple, dict, set, frozenset)):
            return [str(v) for v in value]
    return []


def locale_providers(kind: str) -> list[type]:
    """The ``Provider`` class of every locale module of Faker's provider package ``kind``
    (``person``, ``company`` ...); a locale module that does not import is skipped."""
    package = importlib.import_module(f"faker.providers.{kind}")
    out: list[type] = []
    for info in pkgutil.iter_modules(package.__path__):
        try:
            out.append(importlib.import_module(f"faker.providers.{kind}.{info.name}").Provider)
        except (ImportError, AttributeError):
            continue
    return out


PLACEHOLDER_NAMES = frozenset({"unknown"})
"""Entries of Faker's name lists that are placeholders, not names (its ``en`` first names hold
``Unknown``, from census data): never a name (``Unknown direct deposit``)."""


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Load the name lists from Faker's person providers (once per process)."""
    first: set[str] = set()
    last: set[str] = set()
    first_by_language: dict[str, set[str]] = {}  # ``es`` -> the first names of es_ES, es_MX ...
    for prov in locale_providers("person"):
        language = prov.__module__.rsplit(".", 1)[-1].split("_")[0]
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            names = {n.casefold() for n in provider_values(attr, prov)}
            first |= names
            first_by_language.setdefault(language, set()).update(names)
        last.update(n.casefold() for n in provider_values("last_names", prov))
    common: set[str] = set(COMMON_EXTRA) | NATIONALITIES
    for locale in ("en_US", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT"):
        try:
            lorem = importlib.import_module(f"faker.providers.lorem.{locale}").Provider
        except (ImportError, AttributeError):  # pragma: no cover
            continue
        words = list(getattr(lorem, "word_list", ()))
        for group in getattr(lorem, "parts_of_speech", {}).values():
            words.extend(group)
        words_f = {w.casefold() for w in words if isinstance(w, str)}
        if not locale.startswith("en"):
            # the other languages' lorem lists come from texts that name people: Spanish holds
            # juan, josé, maría, carlos, jorge. A word that is a first name in that language's own
            # name lists stays a name (English text rarely uses ``domingo`` but for a name).
            words_f -= first_by_language.get(locale.split("_")[0], set())
        common.update(words_f)
    blockers: set[str] = set(MONTHS_DAYS) | BLOCKERS_EXTRA | GREETINGS
    try:
        from faker.providers.address.en_US import Provider as Address

        blockers.update(c.casefold() for c in Address.countries if " " not in c)
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    first -= PLACEHOLDER_NAMES
    split = {w for n in first | last for w in n.split()}
    first = {n for n in first if " " not in n} | {w for w in split if w in first}
    first_f, last_f, common_f, blockers_f = frozenset(first), frozenset(last), frozenset(common - TITLES), frozenset(blockers)
    return Gazetteer(first_f, last_f, common_f, blockers_f, _kinds(first_f, last_f, common_f, blockers_f))


def _is_cap(tok: str) -> bool:
    """Title-case token (Name, O'Brien, McDonald, Ödön) or an initial (P / P.); not ALL CAPS."""
    core = tok.rstrip(".")
    if not core or not core[0].isupper():
        return False
    if len(core) == 1:
        return True
    rest = core[1:]
    # "has a lower-case letter", with the common cases answered by one string method
    return rest.islower() or (not rest.isupper() and any(c.islower() for c in rest))


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'“‘(":
        i -= 1
    return i < 0 or text[i] in ".!?\n:;>•*-"


@lru_cache(maxsize=1)
def _lower_class() -> str:
    """Every lower-case letter below U+3000, escaped for a character class."""
    return re.escape("".join(chr(c) for c in range(0x3000) if chr(c).islower()))


# a token (a TOKEN_RE match) that may be capitalised: it starts with a letter that is not lower
# case, with no letter (or letter + apostrophe/hyphen, which TOKEN_RE joins) right before it,
# and goes on like TOKEN_RE. _is_cap has the last word; this lets the scan skip the lower-case
# tokens in C.
_CAP_TOKEN = re.compile(
    rf"[^\W\d_{_lower_class()}](?<![^\W\d_].)(?<![^\W\d_]['’\-].)[^\W\d_]*(?:['’\-](?![sS]\b)[^\W\d_]+)*\.?"
)

Token = tuple[int, int, str]  # start, end, text


# the next token after spaces/tabs (TOKEN_RE cannot start with either, so the spaces are all of them)
_NEXT_TOKEN = re.compile(rf"[ \t]*({TOKEN_RE.pattern})")


def _chunk_from(text: str, first: Token) -> list[Token]:
    """Grow a chunk from a capitalised token: capitalised tokens and particles separated by
    at most three spaces/tabs on one line (``Vanessa P. Hertzog``, ``Ludwig van Beethoven``)."""
    chunk = [first]
    end, prev = first[1], first[2]
    while True:
        m = _NEXT_TOKEN.match(text, end)
        if m is None:
            break  # no token right after spaces/tabs: something else (or nothing) follows
        start = m.start(1)
        gap = start - end
        if gap > 3 or (gap == 0 and not prev.endswith(".")):
            break
        if prev.endswith(".") and len(prev) > 2 and prev[:-1].casefold() not in TITLES:
            break  # "Ven. Tracking": a full stop after a word ends the sentence
        word = m.group(1)
        if _is_cap(word):
            chunk.append((start, m.end(), word))
        elif word.casefold() in PARTICLES and gap == 1 and text[end] == " ":
            # particles one space apart, then a capitalised token one space after them
            run = [(start, m.end(), word)]
            while True:
                after = _NEXT_TOKEN.match(text, run[-1][1])
                if after is None or after.start(1) != run[-1][1] + 1 or text[run[-1][1]] != " ":
                    return chunk
                word = after.group(1)
                run.append((after.start(1), after.end(), word))
                if word.casefold() not in PARTICLES:
                    break
            if not _is_cap(word):
                break
            chunk.extend(run)
        else:
            break
        end, prev = chunk[-1][1], chunk[-1][2]
    return chunk


def find_persons(text: str) -> list[Finding]:
    g = gazetteer()
    low = folded(text)
    # the cue tests may read the folded text (faster; see _regex.TailPattern)
    cue_text = low if low is not None and _TAILS_FOLD else None
    out: list[Finding] = []
    chunks: list[tuple[int, int]] = []  # (start, end) of each chunk, in order
    done = 0  # end of the last chunk: a token before it is already part of a chunk
    for m in _CAP_TOKEN.finditer(text):
        start = m.start()
        if start < done or not _is_cap(m.group()):
            continue
        chunk = _chunk_from(text, (start, m.end(), m.group()))
        done = chunk[-1][1]
        chunks.append((start, done))
        out.extend(_judge_chunk(text, chunk, g, cue_text))
    # lower-case names only after "my name is" & co
    if (_LOWER_ANY_FOLDED.search(low) if low is not None else _LOWER_ANY.search(text)) is not None:
        lower = _lower_names(text, chunks, g)
        if lower:
            out = sorted(out + lower, key=lambda f: f.start)
    return out


def _lower_names(text: str, chunks: list[tuple[int, int]], g: Gazetteer) -> list[Finding]:
    """Lower-case names (``my name is john smith``) among the tokens outside ``chunks``."""
    tokens = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]
    out: list[Finding] = []
    c = 0
    for i, (s, _e, tok) in enumerate(tokens):
        while c < len(chunks) and chunks[c][1] <= s:
            c += 1
        if (c < len(chunks) and chunks[c][0] <= s) or _is_cap(tok):
            continue
        low = _lower_name(text, tokens, i, g)
        if low:
            out.append(low)
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


_BARE_TITLES = frozenset(("mr", "mrs", "ms", "dr", "herr", "frau", "miss", "sir", "madam", "mme", "prof"))
"""Titles that count without a full stop (``Mr Smith``); the others need one (``Col. Smith``)."""


def _judge_chunk(text: str, chunk: list[Token], g: Gazetteer, cue_text: str | None = None) -> list[Finding]:
    """PERSON findings inside one chunk of capitalised tokens.

    cue_text: ``folded(text)``, for the context cue tests, or None to run them on ``text``.
    """
    kinds_of = g.kinds
    if len(chunk) == 1:  # most chunks: the same decisions as below, without the bookkeeping
        word = chunk[0][2]
        key = word.casefold().rstrip(".")
        if key in TITLES and (word.endswith(".") or key in _BARE_TITLES):
            return []
        kind = kinds_of.get(key, "unknown")
        if kind in ("blocker", "common", "particle") or len(word) == 1 or (len(word) == 2 and word[1] == "."):
            return []  # a blocker is no part; a lone common word, particle or initial is trimmed away
        f = _judge_part(text, chunk, [kind], False, cue_text)
        return [] if f is None else [f]
    results: list[Finding] = []
    titled = False
    # split at blockers; titles mark the next part as a name
    part: list[Token] = []
    kinds: list[str] = []
    parts: list[tuple[list[Token], list[str], bool]] = []
    for tok in chunk:
        word = tok[2]
        key = word.casefold().rstrip(".")
        if key in TITLES and (word.endswith(".") or key in _BARE_TITLES):
            if part:
                parts.append((part, kinds, titled))
            part, kinds, titled = [], [], True
            continue
        kind = kinds_of.get(key, "unknown")
        if kind == "blocker":
            if part:
                parts.append((part, kinds, titled))
            part, kinds, titled = [], [], False
            continue
        part.append(tok)
        # a token holds at most one full stop, at its end: one letter (P / P.) is an initial
        kinds.append("initial" if len(word) == 1 or (len(word) == 2 and word[1] == ".") else kind)
    if part:
        parts.append((part, kinds, titled))
    for toks, part_kinds, has_title in parts:
        f = _judge_part(text, toks, part_kinds, has_title, cue_text)
        if f is not None:
            results.append(f)
    return results


def _judge_part(
    text: str, toks: list[Token], token_kinds: list[str], titled: bool, cue_text: str | None = None
) -> Finding | None:
    """A PERSON finding for one part of a chunk (no blockers or titles in it), or None.

    token_kinds: each token's kind ("initial", or its kind in :func:`_kinds`). cue_text: as
    for :func:`_judge_chunk`.
    """
    kinds = list(token_kinds)
    for i in range(2, len(kinds)):
        if kinds[i] == "common" and kinds[i - 1] == "particle":
            kinds[i] = "last"  # "de Bruin", "van der Berg": after a particle it is a surname
    # drop leading/trailing common words that are not names (e.g. "Yesterday", "Please")
    lo, hi = 0, len(toks)
    while lo < hi and kinds[lo] in ("common", "particle", "initial") and not (kinds[lo] == "initial" and hi - lo > 1):
        lo += 1
    while hi > lo and kinds[hi - 1] in ("common", "particle", "initial"):
        hi -= 1
    if lo == hi:
        return None
    toks, kinds = toks[lo:hi], kinds[lo:hi]
    if "common" in kinds:
        # cut at the first common word and judge the longest clean stretch before it
        cut = kinds.index("common")
        raw = token_kinds[lo:hi]
        if cut:
            return _judge_part(text, toks[:cut], raw[:cut], titled, cue_text)
        return _judge_part(text, toks[cut + 1 :], raw[cut + 1 :], False, cue_text)
    start, end = toks[0][0], toks[-1][1]
    if text[end - 1] == "." and kinds[-1] != "initial":
        end -= 1
    strong = kinds.count("first") + kinds.count("last")
    names = strong + kinds.count("weak")
    if not names and "unknown" not in kinds:
        return None
    n = len(toks)
    if n >= 2 and kinds[0] == "first" and kinds[-1] in ("last", "first", "weak"):
        # a clear "First Last": no context needed (the quoted-title rule still applies)
        if start > 0 and text[start - 1] in "\"“«" and text[end : end + 1] in "\"”»":
            return None
        return Finding("PERSON", start, end, 0.85, "name_gazetteer")
    # the 40 characters before, reversed once for the three cue tests (see _regex.TailPattern)
    fold = cue_text is not None
    before_rev = (cue_text if fold else text)[max(0, start - 40) : start][::-1]
    after = text[end : end + 20]
    ctx = (
        titled
        or _STRONG_TAIL.match_reversed(before_rev, fold)
        or (_GREETING_TAIL.match_reversed(before_rev, fold) and bool(_NAME_END.match(after)))
        or (strong > 0 and bool(_CONTEXT_AFTER.match(after)))
    )
    at_start = _sentence_start(text, start)
    if not ctx and start > 0 and text[start - 1] in "\"“'«" and text[end : end + 1] in "\"”'»":
        return None  # a quoted capitalised phrase is a product or a title, not a person
    # a weak cue (one that may also precede a non-name) only matters for a lone first name or
    # weak name, so the third cue test runs only there
    if n == 1 and not ctx and kinds[0] in ("first", "weak"):
        weak_ctx = _BEFORE_TAIL.match_reversed(before_rev, fold)
    else:
        weak_ctx = ctx
    score = 0.0
    if ctx and len(kinds) - kinds.count("particle") <= 4 and (names or "unknown" in kinds):
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

"""``datamoat demo-data``: write a synthetic support-ticket dataset together with its known truth.

Output (in ``out_dir``):

* ``tickets.csv`` - ticket_id, customer_id, created_at, channel, text, intent
* ``customers.csv`` - see :mod:`datamoat.demo.customers`
* ``truth.json`` - every injected problem, by ticket id (see :func:`generate_demo_data`)

How problems are injected (shares of ``n_tickets``): exact duplicates 3%, near duplicates 4%,
wrong labels 8%, tickets with PII ~25%, missing values 2%, HTML entities 2%, mojibake 1.5%,
non-English 2%. The problem sets are kept apart so the truth is unambiguous:

* the truth's duplicates are the *only* ones: apart from an injected pair, no two ticket texts
  are equal after case-folding and whitespace collapse, or reach a word 3-shingle Jaccard of
  :data:`~datamoat.demo.distinct.MAX_ACCIDENTAL_JACCARD` (0.5); texts are re-drawn until
  they are distinct (see :mod:`datamoat.demo.distinct`);

* duplicate and near-duplicate *originals* are clean English tickets (PII allowed); their copies
  get a new, later ticket id and the same customer and (correct) label;
* wrong labels, missing values and encoding damage are never on a ticket that is part of a
  duplicate group, nor on non-English tickets, nor on each other;
* missing values and encoding damage are only on tickets without PII (so no span points into
  an empty or re-encoded text); wrong labels may fall on PII tickets.

The same ``seed`` gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from datamoat.demo.compose import CHANNEL_WEIGHTS, CHANNELS, compose_english
from datamoat.demo.corrupt import (
    NEAR_DUP_MAX_JACCARD,
    NEAR_DUP_MIN_JACCARD,
    html_escape,
    mojibake,
    near_duplicate,
)
from datamoat.demo.customers import COLUMNS, QUASI_IDENTIFIERS, SENSITIVE, make_customers, ticket_weights
from datamoat.demo.distinct import DistinctIndex
from datamoat.demo.foreign import LANGUAGES, compose_foreign
from datamoat.demo.intents import CONFUSIONS, INTENT_NAMES, INTENTS
from datamoat.demo.pii import PersonaFactory, Segment, map_plain, render

TICKET_COLUMNS: tuple[str, ...] = ("ticket_id", "customer_id", "created_at", "channel", "text", "intent")
MISSING_COLUMNS: tuple[str, ...] = ("text", "intent", "customer_id", "created_at")
SHARES: dict[str, float] = {
    "exact_duplicates": 0.03, "near_duplicates": 0.04, "label_errors": 0.08, "pii": 0.25,
    "missing": 0.02, "html_entity": 0.02, "mojibake": 0.015, "non_english": 0.02,
}
START = datetime(2024, 1, 1)
SPAN_DAYS = 182
MIN_TICKETS = 50
MAX_ATTEMPTS = 500  # re-draws of one ticket before giving up (20k tickets need < 60)
NEAR_COPY_ATTEMPTS = 5


@dataclass
class _Ticket:
    """A ticket while the dataset is being built; ``key`` is its creation order."""

    key: int
    customer_id: str
    created_at: datetime
    channel: str
    intent: str
    language: str
    segments: list[Segment]
    has_pii: bool
    label: str = ""
    ticket_id: str = ""
    missing: str | None = None
    problems: dict[str, object] = field(default_factory=dict)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    norm = sum(weights)
    raw = [total * w / norm for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _timestamp(rng: random.Random) -> datetime:
    """A ticket creation time in the six months from :data:`START`, mostly in waking hours."""
    day = int(SPAN_DAYS * rng.random() ** 0.85)  # volume grows a little over time
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 9, 9, 9, 8, 8, 8, 8, 7, 5, 3, 2])[0]
    return START + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _base_tickets(
    n_base: int, n_foreign: int, customer_ids: list[str], rng: random.Random, seed: int, index: DistinctIndex
) -> list[_Ticket]:
    """Compose the ``n_base`` original tickets (``n_foreign`` of them non-English, ~25% with PII).

    Each text is re-drawn until it is distinct from all tickets so far (``index``, which gets
    every accepted text), so that no accidental duplicates dilute the truth.
    """
    intents = [name for name, c in zip(INTENT_NAMES, _allocate(n_base, [i.weight for i in INTENTS]), strict=True)
               for _ in range(c)]
    rng.shuffle(intents)
    foreign = set(rng.sample(range(n_base), n_foreign))
    english = [i for i in range(n_base) if i not in foreign]
    with_pii = set(rng.sample(english, min(len(english), round(SHARES["pii"] * n_base))))
    weights = ticket_weights(len(customer_ids), rng)
    owners = rng.choices(customer_ids, weights=weights, k=n_base)
    personas = PersonaFactory(seed)
    tickets = []
    for i, intent in enumerate(intents):
        if i in foreign:
            lang = LANGUAGES[i % len(LANGUAGES)]
            channel = rng.choice(("email", "web"))
        else:
            lang = "en"
            channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        persona = personas.make(rng) if i in with_pii else None
        for _ in range(MAX_ATTEMPTS):
            if lang != "en":
                segments = [Segment(compose_foreign(intent, lang, rng))]
            else:
                segments = compose_english(intent, channel, rng, persona)
            text = render(segments)[0]
            if not index.clashes(text):
                break
        else:
            raise RuntimeError(f"could not compose a distinct {intent!r} ticket ({channel}, {lang}); "
                               "too many tickets for the templates")
        index.add(i, text)
        tickets.append(_Ticket(i, owners[i], _timestamp(rng), channel, intent, lang, segments, i in with_pii, intent))
    return tickets


def _take(pool: list[_Ticket], n: int, ok: Callable[[_Ticket], bool]) -> list[_Ticket]:
    """Remove and return up to ``n`` tickets of ``pool`` (in pool order) satisfying ``ok``."""
    taken = [t for t in pool if ok(t)][:n]
    ids = {t.key for t in taken}
    pool[:] = [t for t in pool if t.key not in ids]
    return taken


def _copies(pool: list[_Ticket], n_exact: int, n_near: int, rng: random.Random, index: DistinctIndex) -> list[_Ticket]:
    """Draw duplicate originals from ``pool`` and return their exact and near-duplicate copies.

    A near-duplicate copy must stay distinct (see :class:`DistinctIndex`) from every ticket but
    its own original; an exact copy repeats a text already in ``index``, so needs no check.
    """
    copies: list[_Ticket] = []
    for orig in _take(pool, n_exact, lambda t: True):
        same_meta = rng.random() < 0.25
        when = orig.created_at if same_meta else orig.created_at + timedelta(minutes=rng.randint(2, 240))
        copy = replace(orig, key=-1, created_at=when, segments=list(orig.segments), problems={})
        copy.problems["exact"] = (orig, same_meta)
        copies.append(copy)
    made: list[_Ticket] = []
    for orig in list(pool):
        if len(made) == n_near:
            break
        for _ in range(NEAR_COPY_ATTEMPTS):
            edited = near_duplicate(orig.segments, rng)
            if edited is None or not index.clashes(render(edited[0])[0], ignore=(orig.key,)):
                break
        else:
            edited = None
        if edited is None:
            continue
        segs, desc, sim = edited
        when = orig.created_at + timedelta(minutes=rng.randint(10, 3 * 24 * 60))
        copy = replace(orig, key=-1, created_at=when, segments=segs, problems={})
        copy.problems["near"] = (orig, desc, sim)
        index.add(("near", orig.key), render(segs)[0])
        made.append(copy)
        pool.remove(orig)
    copies.extend(made)
    return copies


def _flip(true: str, rng: random.Random) -> str:
    """A wrong label for ``true``: a plausible confusion 70% of the time, else any other intent."""
    if rng.random() < 0.7:
        return rng.choice(CONFUSIONS[true])
    return rng.choice([name for name in INTENT_NAMES if name != true])


def _damage(pool: list[_Ticket], n: int, kind: str, fn: Callable[[str], str], index: DistinctIndex) -> None:
    """Apply encoding damage ``fn`` to the first ``n`` tickets of ``pool`` it fits, removing them.

    It fits a ticket without PII whose text it visibly changes, when the damaged text stays
    distinct from every other ticket (the index is updated as each ticket is damaged).
    """
    done: set[int] = set()
    for t in pool:
        if len(done) == n:
            break
        text = render(t.segments)[0]
        if t.has_pii or fn(text) == text:
            continue
        segments = map_plain(t.segments, fn)
        damaged = render(segments)[0]
        if index.clashes(damaged, ignore=(t.key,)):
            continue
        t.problems["encoding"] = (kind, text.replace("'", "\u2019") if kind == "mojibake" else text)
        t.segments = segments
        index.add(t.key, damaged)
        done.add(t.key)
    pool[:] = [t for t in pool if t.key not in done]


def _inject(pool: list[_Ticket], counts: dict[str, int], rng: random.Random, index: DistinctIndex) -> None:
    """Apply encoding damage, missing values and wrong labels to disjoint tickets of ``pool``."""
    _damage(pool, counts["html_entity"], "html_entity", html_escape, index)
    _damage(pool, counts["mojibake"], "mojibake", mojibake, index)
    for i, t in enumerate(_take(pool, counts["missing"], lambda t: not t.has_pii)):
        t.missing = MISSING_COLUMNS[i % len(MISSING_COLUMNS)]
    for t in _take(pool, counts["label_errors"], lambda t: True):
        t.label = _flip(t.intent, rng)


def _csv_bytes(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    """Standard CSV (minimal quoting, ``\\n`` line ends) as UTF-8 bytes."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    The file gets the usual permissions (0o666 less the umask).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _ticket_row(t: _Ticket) -> list[str]:
    """The CSV fields of ``t`` (the missing column, if any, left empty)."""
    row = {
        "ticket_id": t.ticket_id, "customer_id": t.customer_id,
        "created_at": t.created_at.isoformat(timespec="seconds"), "channel": t.channel,
        "text": render(t.segments)[0], "intent": t.label,
    }
    if t.missing:
        row[t.missing] = ""
    return [row[c] for c in TICKET_COLUMNS]


def _truth(tickets: list[_Ticket], seed: int, files: dict[str, str]) -> dict[str, object]:
    """Collect the truth record of the finished ``tickets`` (already in ticket-id order)."""
    out: dict[str, list[dict[str, object]]] = {k: [] for k in (
        "exact_duplicates", "near_duplicates", "label_errors", "pii", "missing", "encoding", "non_english")}
    for t in tickets:
        tid = t.ticket_id
        if "exact" in t.problems:
            orig, same = t.problems["exact"]
            out["exact_duplicates"].append({"ticket_id": tid, "duplicate_of": orig.ticket_id, "identical_metadata": same})
        if "near" in t.problems:
            orig, desc, sim = t.problems["near"]
            out["near_duplicates"].append({"ticket_id": tid, "near_duplicate_of": orig.ticket_id, "edit": desc, "jaccard": sim})
        if t.label != t.intent:
            out["label_errors"].append({"ticket_id": tid, "given_label": t.label, "true_label": t.intent,
                                        "plausible": t.label in CONFUSIONS[t.intent]})
        text, spans = render(t.segments)
        for kind, start, end, value in spans:
            if text[start:end] != value:  # pragma: no cover - guarded by construction
                raise AssertionError(f"PII span mismatch in {tid}")
            out["pii"].append({"ticket_id": tid, "type": kind, "start": start, "end": end, "value": value})
        if t.missing:
            out["missing"].append({"ticket_id": tid, "column": t.missing})
        if "encoding" in t.problems:
            kind, original = t.problems["encoding"]
            out["encoding"].append({"ticket_id": tid, "kind": kind, "original": original})
        if t.language != "en":
            out["non_english"].append({"ticket_id": tid, "language": t.language})
    given = Counter(t.label for t in tickets if t.missing != "intent")
    class_counts = dict(sorted(given.items(), key=lambda kv: (-kv[1], kv[0])))
    return {
        "seed": seed,
        "n_rows": len(tickets),
        "files": files,
        "columns": {"id": "ticket_id", "text": "text", "label": "intent", "customer_key": "customer_id"},
        **out,
        "class_counts": class_counts,
        "true_class_counts": dict(sorted(Counter(t.intent for t in tickets).items(), key=lambda kv: (-kv[1], kv[0]))),
        "imbalance_ratio": round(max(given.values()) / min(given.values()), 4),
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
        "sensitive": list(SENSITIVE),
        "intents": list(INTENT_NAMES),
        "notes": {
            "offsets": "PII start/end are Python str code-point offsets into the text column, end exclusive.",
            "near_duplicate_similarity": {
                "measure": "Jaccard of word 3-shingle sets; words = re.findall(r'\\w+', text.lower())",
                "min": NEAR_DUP_MIN_JACCARD, "max": NEAR_DUP_MAX_JACCARD,
            },
            "label_errors": "Never on duplicate groups, non-English, missing-value or encoding tickets; "
                            "'plausible' marks flips to a confusable intent.",
            "class_counts": "Counts of the given (possibly wrong) labels; rows with a missing intent excluded.",
            "encoding_original": "The intended text before the damage (mojibake: with typographic apostrophes).",
        },
    }


def generate_demo_data(out_dir: str | Path, *, n_tickets: int = 3000, seed: int = 0) -> dict[str, Path]:
    """Write ``tickets.csv``, ``customers.csv`` and ``truth.json`` into ``out_dir``.

    out_dir: folder, created if needed; files in it with those names are replaced atomically.
    n_tickets: total ticket rows including injected duplicates (at least 50).
    seed: the same seed gives byte-identical files.
    Returns ``{"tickets": path, "customers": path, "truth": path}``.
    """
    if n_tickets < MIN_TICKETS:
        raise ValueError(f"n_tickets must be at least {MIN_TICKETS}, got {n_tickets}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts = {k: round(v * n_tickets) for k, v in SHARES.items()}
    n_base = n_tickets - counts["exact_duplicates"] - counts["near_duplicates"]

    customers = make_customers(max(20, round(n_tickets * 0.4)), rng)
    index = DistinctIndex()
    base = _base_tickets(n_base, counts["non_english"], [c.customer_id for c in customers], rng, seed, index)
    pool = [t for t in base if t.language == "en"]
    rng.shuffle(pool)
    copies = _copies(pool, counts["exact_duplicates"], counts["near_duplicates"], rng, index)
    _inject(pool, counts, rng, index)

    tickets = sorted(base + copies, key=lambda t: (t.created_at, t.key < 0))
    for i, t in enumerate(tickets, start=1):
        t.ticket_id = f"T{i:06d}"

    files = {"tickets": "tickets.csv", "customers": "customers.csv", "truth": "truth.json"}
    paths = {k: out / v for k, v in files.items()}
    _write_atomic(paths["customers"], _csv_bytes(COLUMNS, [c.row() for c in customers]))
    _write_atomic(paths["tickets"], _csv_bytes(TICKET_COLUMNS, [_ticket_row(t) for t in tickets]))
    truth = _truth(tickets, seed, files)
    _write_atomic(paths["truth"], (json.dumps(truth, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return paths

"""Personal data for demo tickets, and the bookkeeping that keeps its offsets exact.

A ticket text is held as a list of :class:`Segment` objects; a segment is either plain text or
exactly one PII value with its entity type. :func:`render` joins them and reports each PII
span as ``(type, start, end, value)`` with Python ``str`` code-point offsets, ``end``
exclusive. Every later edit (typos, near-duplicate edits, encoding damage) touches only plain
segments, so offsets recomputed by :func:`render` are always right.

Entity types: PERSON, EMAIL, PHONE, CREDIT_CARD, IBAN, STREET_ADDRESS, DATE_OF_BIRTH,
IP_ADDRESS. Values come from Faker (seeded, seven locales) except phone numbers, which use
hand-written national and international formats.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from faker import Faker

LOCALES: tuple[str, ...] = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "hu_HU", "nl_NL")
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "STREET_ADDRESS", "DATE_OF_BIRTH", "IP_ADDRESS",
)

# '#' is replaced by a random digit.
_PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "en_US": ("(###) ###-####", "###-###-####", "+1 ### ### ####"),
    "en_GB": ("+44 20 #### ####", "07### ######", "+44 7### ######"),
    "de_DE": ("+49 30 #######", "0151 ########", "+49 89 ########"),
    "fr_FR": ("06 ## ## ## ##", "+33 6 ## ## ## ##", "01 ## ## ## ##"),
    "es_ES": ("+34 6## ### ###", "6## ## ## ##"),
    "hu_HU": ("+36 30 ### ####", "06 20 ### ####"),
    "nl_NL": ("+31 6 ########", "06-########", "020 ### ####"),
}
_IBAN_LOCALES = ("de_DE", "fr_FR", "es_ES", "nl_NL", "en_GB")


@dataclass(frozen=True)
class Segment:
    """A piece of ticket text: plain (``pii_type`` None) or one PII value of ``pii_type``."""

    text: str
    pii_type: str | None = None


def render(segments: Sequence[Segment]) -> tuple[str, list[tuple[str, int, int, str]]]:
    """Join ``segments``; return ``(text, spans)`` with spans ``(type, start, end, value)``."""
    parts: list[str] = []
    spans: list[tuple[str, int, int, str]] = []
    pos = 0
    for seg in segments:
        if seg.pii_type is not None:
            spans.append((seg.pii_type, pos, pos + len(seg.text), seg.text))
        parts.append(seg.text)
        pos += len(seg.text)
    return "".join(parts), spans


def map_plain(segments: Sequence[Segment], fn: Callable[[str], str]) -> list[Segment]:
    """Apply ``fn`` to the text of every plain segment; PII segments are kept verbatim."""
    return [s if s.pii_type else Segment(fn(s.text)) for s in segments]


@dataclass(frozen=True)
class Persona:
    """The personal data of one fictional customer, all drawn from one locale."""

    locale: str
    name: str
    first_name: str
    relative: str
    email: str
    phone: str
    card: str
    iban: str
    address: str
    dob: str
    ip: str


def _ascii(text: str) -> str:
    """Lower-case ASCII form of a name part for an email local part ('José' -> 'jose')."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _group(digits: str, sizes: Sequence[int], sep: str) -> str:
    """Split ``digits`` into groups of ``sizes`` joined by ``sep`` (rest goes in a last group)."""
    out, pos = [], 0
    for size in sizes:
        if pos >= len(digits):
            break
        out.append(digits[pos : pos + size])
        pos += size
    if pos < len(digits):
        out.append(digits[pos:])
    return sep.join(out)


class PersonaFactory:
    """Seeded source of :class:`Persona` objects (one Faker instance per locale)."""

    def __init__(self, seed: int) -> None:
        """seed: any int; the same seed yields the same personas in the same order."""
        self._fakers: dict[str, Faker] = {}
        for i, loc in enumerate(LOCALES):
            fk = Faker(loc)
            fk.seed_instance(seed * 1000 + i)
            self._fakers[loc] = fk

    def _name(self, fk: Faker, locale: str) -> tuple[str, str]:
        """Return (full name, first name); Hungarian names are written family name first."""
        first, last = fk.first_name().strip(), fk.last_name().strip()
        return (f"{last} {first}" if locale == "hu_HU" else f"{first} {last}"), first

    def _email(self, fk: Faker, rng: random.Random, name: str) -> str:
        """An email address, usually derived from the person's name."""
        if rng.random() < 0.25:
            return fk.email()
        parts = [_ascii(p) for p in name.split()]
        parts = [p for p in parts if p] or ["customer"]
        local = rng.choice((".".join(parts), parts[0] + parts[-1][:1], parts[-1] + "_" + parts[0][:1]))
        if rng.random() < 0.5:
            local += str(rng.randint(1, 99))
        return f"{local}@{fk.free_email_domain()}"

    def _phone(self, rng: random.Random, locale: str) -> str:
        """A phone number in one of the locale's national or international formats."""
        fmt = rng.choice(_PHONE_FORMATS[locale])
        return "".join(str(rng.randint(0, 9)) if ch == "#" else ch for ch in fmt)

    def _card(self, fk: Faker, rng: random.Random) -> str:
        """A Luhn-valid card number, plain or grouped with spaces or dashes."""
        brand = rng.choice(("visa16", "mastercard", "mastercard", "amex"))
        digits = fk.credit_card_number(card_type=brand)
        sizes = (4, 6, 5) if len(digits) == 15 else (4, 4, 4, 4)
        style = rng.random()
        if style < 0.5:
            return _group(digits, sizes, " ")
        if style < 0.65:
            return _group(digits, sizes, "-")
        return digits

    def _iban(self, rng: random.Random, locale: str) -> str:
        """A checksum-valid IBAN, grouped in fours half of the time."""
        loc = locale if locale in _IBAN_LOCALES else rng.choice(_IBAN_LOCALES)
        iban = self._fakers[loc].iban()
        return _group(iban, (4,) * 8, " ") if rng.random() < 0.5 else iban

    def _address(self, fk: Faker, rng: random.Random) -> str:
        """A single-line street address, sometimes with postcode and city."""
        street = ", ".join(" ".join(line.split()) for line in fk.street_address().splitlines() if line.strip())
        if rng.random() < 0.5:
            return street
        return f"{street}, {fk.postcode().strip()} {fk.city().strip()}"

    def _dob(self, fk: Faker, rng: random.Random) -> str:
        """A date of birth in one of four common written formats."""
        d = fk.date_of_birth(minimum_age=18, maximum_age=85)
        return rng.choice(
            (
                f"{d.day:02d}/{d.month:02d}/{d.year}",
                d.isoformat(),
                f"{d.strftime('%B')} {d.day}, {d.year}",
                f"{d.day:02d}.{d.month:02d}.{d.year}",
            )
        )

    def make(self, rng: random.Random) -> Persona:
        """Draw one persona; the locale is chosen with ``rng``, values from that locale's Faker."""
        locale = rng.choices(LOCALES, weights=(30, 22, 14, 10, 9, 6, 9))[0]
        fk = self._fakers[locale]
        name, first = self._name(fk, locale)
        return Persona(
            locale=locale,
            name=name,
            first_name=first,
            relative=fk.first_name().strip(),
            email=self._email(fk, rng, name),
            phone=self._phone(rng, locale),
            card=self._card(fk, rng),
            iban=self._iban(rng, locale),
            address=self._address(fk, rng),
            dob=self._dob(fk, rng),
            ip=fk.ipv4_public(),
        )


# Sentences that carry one PII value; "{v}" marks the value. PERSON has extra shapes below.
_SENTENCES: dict[str, tuple[str, ...]] = {
    "EMAIL": (
        "You can reach me at {v}.",
        "My email is {v}.",
        "The account email is {v}.",
        "Please reply to {v} instead of my old address.",
        "(registered email: {v})",
    ),
    "PHONE": (
        "My number is {v}.",
        "Call me back on {v} please.",
        "You can reach me on {v} after 5pm.",
        "The phone number on the account is {v}.",
    ),
    "CREDIT_CARD": (
        "The card number is {v}.",
        "I used card {v} for the payment.",
        "It was charged to {v}, expiry 09/27.",
    ),
    "IBAN": (
        "My IBAN is {v}.",
        "Please send the money to {v}.",
        "The account it should go to is {v}, thanks.",
    ),
    "STREET_ADDRESS": (
        "My address is {v}.",
        "Please ship it to {v}.",
        "I live at {v}.",
        "The parcel should go to {v} from now on.",
    ),
    "DATE_OF_BIRTH": (
        "My date of birth is {v}, if you need to verify me.",
        "DOB: {v}.",
        "I was born on {v}.",
    ),
    "IP_ADDRESS": (
        "The login attempt came from {v}, which isn't me.",
        "My IP address is {v} if that helps.",
        "The error page showed IP {v}.",
    ),
    "PERSON": (
        "My name is {v}.",
        "This is {v} writing.",
        "The account is under the name {v}.",
        "The parcel was addressed to {v}.",
    ),
}
_RELATIVE_SENTENCES: tuple[str, ...] = (
    "My husband {v} placed the order for me.",
    "My wife {v} normally handles this.",
    "I'm writing for my son {v}, it's his account.",
    "My daughter {v} set up the account.",
)
NAMED_SIGNOFFS: tuple[str, ...] = ("Thanks,\n{v}", "Thanks, {v}", "Best regards,\n{v}", "Kind regards, {v}", "- {v}")

# Intent-specific preference for entity types (multiplies the base weights).
_BASE_WEIGHTS: dict[str, float] = {
    "PERSON": 4.0, "EMAIL": 2.0, "PHONE": 1.6, "CREDIT_CARD": 0.5, "IBAN": 0.5,
    "STREET_ADDRESS": 0.9, "DATE_OF_BIRTH": 0.4, "IP_ADDRESS": 0.3,
}
_INTENT_BOOST: dict[str, dict[str, float]] = {
    "card_declined": {"CREDIT_CARD": 5.0},
    "billing_error": {"CREDIT_CARD": 3.0, "IBAN": 3.0},
    "refund_request": {"IBAN": 4.0, "CREDIT_CARD": 2.0},
    "change_address": {"STREET_ADDRESS": 6.0},
    "delivery_late": {"STREET_ADDRESS": 2.0},
    "account_locked": {"IP_ADDRESS": 6.0, "DATE_OF_BIRTH": 3.0, "EMAIL": 2.0},
    "password_reset": {"EMAIL": 3.0, "DATE_OF_BIRTH": 2.0},
    "close_account": {"EMAIL": 2.0, "DATE_OF_BIRTH": 2.0},
}


def template_segments(template: str, value: str, pii_type: str) -> list[Segment]:
    """Split ``template`` at its single ``{v}`` into plain / PII / plain segments."""
    before, after = template.split("{v}")
    out = [Segment(before)] if before else []
    out.append(Segment(value, pii_type))
    if after:
        out.append(Segment(after))
    return out


def pick_types(intent: str, rng: random.Random) -> list[str]:
    """Choose 1-3 distinct entity types for a ticket of ``intent`` (intent-aware weights)."""
    boost = _INTENT_BOOST.get(intent, {})
    types = list(ENTITY_TYPES)
    weights = [_BASE_WEIGHTS[t] * boost.get(t, 1.0) for t in types]
    n = rng.choices((1, 2, 3), weights=(55, 33, 12))[0]
    chosen: list[str] = []
    while len(chosen) < n:
        t = rng.choices(types, weights=weights)[0]
        if t not in chosen:
            chosen.append(t)
    return chosen


def pii_sentence(pii_type: str, persona: Persona, rng: random.Random) -> list[Segment]:
    """One body sentence carrying a ``pii_type`` value of ``persona`` (as segments)."""
    if pii_type == "PERSON" and rng.random() < 0.3:
        return template_segments(rng.choice(_RELATIVE_SENTENCES), persona.relative, "PERSON")
    value = {
        "PERSON": persona.name, "EMAIL": persona.email, "PHONE": persona.phone,
        "CREDIT_CARD": persona.card, "IBAN": persona.iban, "STREET_ADDRESS": persona.address,
        "DATE_OF_BIRTH": persona.dob, "IP_ADDRESS": persona.ip,
    }[pii_type]
    return template_segments(rng.choice(_SENTENCES[pii_type]), value, pii_type)


def named_signoff(persona: Persona, rng: random.Random) -> list[Segment]:
    """A sign-off with the persona's full name (or, sometimes, first name only)."""
    value = persona.first_name if rng.random() < 0.2 else persona.name
    return template_segments(rng.choice(NAMED_SIGNOFFS), value, "PERSON")

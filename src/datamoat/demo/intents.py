"""Support-desk intents of the demo shop and the English phrasings that express them.

A ticket text is assembled (see :mod:`datamoat.demo.compose`) from one or two *core*
sentences of its intent, optional *detail* sentences, and shared context, tone and closing
sentences. Templates contain ``{slot}`` placeholders filled by :func:`fill` (order numbers,
amounts, products, dates ...). Related intents deliberately share vocabulary (billing_error vs
refund_request, password_reset vs account_locked, cancel_subscription vs close_account ...), so
a bag-of-words model can learn the intents, but not perfectly.

``weight`` is the intent's share of the clean dataset; the largest is ~9x the smallest.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    """One support intent.

    name: label written to ``tickets.csv``; weight: relative frequency (any positive scale);
    core: sentences that state the request; details: supporting sentences; subjects: short
    web-form subject lines.
    """

    name: str
    weight: float
    core: tuple[str, ...]
    details: tuple[str, ...]
    subjects: tuple[str, ...]


INTENTS: tuple[Intent, ...] = (
    Intent(
        "delivery_late",
        0.19,
        (
            "My order {order} still hasn't arrived and it's been {days} days.",
            "I ordered a {product} on {date} and there's no sign of it yet.",
            "The tracking for {order} hasn't updated since {weekday}.",
            "Where is my package? It was supposed to be here by {date}.",
            "The {carrier} tracking page has said 'in transit' for over a week now.",
            "I paid for express shipping but my {product} is {days} days late.",
            "Delivery was promised for {weekday} and nothing came.",
            "Can you tell me when order {order} will actually be delivered?",
            "My parcel seems to be stuck at the {carrier} depot.",
            "It's been {days} days since I ordered and the status still says \"processing\".",
            "The estimated delivery date keeps moving, first it was {date}, now it's a week later.",
            "I stayed home all day on {weekday} waiting for the {product} and it never showed up.",
            "Tracking number {tracking} says delivered, but nothing was left at my door.",
            "Still waiting on my {product}, order {order}, any idea when it will ship?",
        ),
        (
            "I need it for a birthday on {weekday}.",
            "Nobody left a card and my neighbours haven't seen it.",
            "I've checked with the front desk of my building twice.",
            "The order confirmation said 3-5 business days.",
            "I already contacted {carrier} and they told me to ask you.",
            "This is the second time an order from you has been late.",
            "If it doesn't come by {weekday} I'd rather cancel and get my money back.",
        ),
        ("Late delivery", "Where is my order?", "Order not arrived"),
    ),
    Intent(
        "refund_request",
        0.15,
        (
            "I'd like a refund for my {product}, order {order}.",
            "I returned the {product} on {date} but I still haven't got my money back.",
            "Can you please refund the {amount} for order {order}?",
            "I sent the parcel back {days} days ago, when will the refund be processed?",
            "Please refund me, the {product} doesn't fit and I've already sent it back.",
            "I cancelled order {order} before it shipped, so I expect a full refund of {amount}.",
            "How long does a refund usually take? I returned my {product} on {date}.",
            "I want my money back for the {product}, it's not what I expected.",
            "The return was accepted but the {amount} hasn't shown up on my card.",
            "You said the refund would take 5 days and it's been {days}.",
            "I was charged {amount} for an item that was never sent, please refund it.",
            "Could you refund the shipping fee? The order arrived {days} days late.",
            "Where is my refund for the {product}? Your email said it was approved.",
        ),
        (
            "The return label reference is {tracking}.",
            "I'd prefer the money back on the original card rather than store credit.",
            "I don't want a replacement, just the refund.",
            "The item was unused and still in the original box.",
            "My bank says nothing has come in from you yet.",
            "The charge is still showing on my statement.",
        ),
        ("Refund", "Refund not received", "Money back please"),
    ),
    Intent(
        "billing_error",
        0.11,
        (
            "I was charged twice for order {order}.",
            "There's a charge of {amount} on my statement that I don't recognise.",
            "My invoice shows {amount} but the price on the website was lower.",
            "You billed me for the {plan} plan but I'm on the basic one.",
            "The discount code wasn't applied and I paid the full {amount}.",
            "I see two identical payments of {amount} on {date}.",
            "Why was I charged {amount} after I cancelled?",
            "The VAT on my invoice looks wrong.",
            "I was billed for {n_items} items but only ordered one.",
            "My card ending in {last4} was charged {amount} without any order.",
            "The amount taken from my account doesn't match the order total.",
            "Please correct my bill, the delivery fee was charged twice.",
        ),
        (
            "I've attached a screenshot of my bank statement.",
            "Please fix this and send me a corrected invoice.",
            "The order total at checkout was {amount}.",
            "I need this sorted before my month-end accounting.",
            "Can you refund the extra charge?",
            "I only placed one order that day.",
        ),
        ("Wrong charge", "Billing problem", "Charged twice"),
    ),
    Intent(
        "product_question",
        0.10,
        (
            "Does the {product} come with a warranty?",
            "Is the {product} compatible with a European plug?",
            "What are the dimensions of the {product}?",
            "Will the {product} be back in stock soon?",
            "Can the {product} be washed in the machine?",
            "Is there a bigger size of the {product} available?",
            "Does the {product} come in black or only in white?",
            "Can you tell me what material the {product} is made of?",
            "How long does the battery in the {product} last?",
            "Is the \"{model}\" version of the {product} any different from the regular one?",
            "Do you ship the {product} to Canada?",
            "I'm thinking of buying the {product}, is it suitable for a small apartment?",
            "Does the {product} need to be assembled, or does it arrive ready to use?",
        ),
        (
            "I couldn't find this in the product description.",
            "I'd like to order {n_items} of them for the office.",
            "The reviews are mixed so I wanted to check first.",
            "I'm buying it as a gift so I want to be sure.",
            "I don't want to have to return it later.",
        ),
        ("Question about a product", "Product info", "Before I buy"),
    ),
    Intent(
        "card_declined",
        0.08,
        (
            "My card keeps getting declined at checkout.",
            "I tried to pay {amount} and it says 'payment failed'.",
            "My {card} was declined but the bank says there's nothing wrong.",
            "Every time I try to pay the page says \"transaction declined\".",
            "I can't complete my order, the card ending in {last4} is rejected.",
            "The payment doesn't go through, I've tried three different cards.",
            "Why is my card being declined? It works everywhere else.",
            "Checkout fails at the 3D Secure step and the card is declined.",
            "I got a 'card not supported' error when paying for the {product}.",
            "My payment was declined but the money still left my account.",
        ),
        (
            "I have enough money in the account.",
            "I've already called my bank and they don't see any block.",
            "I want to buy the {product} before the sale ends.",
            "It's a brand new card, issued last month.",
            "I tried again on {weekday} with the same result.",
        ),
        ("Payment declined", "Card not working", "Can't pay"),
    ),
    Intent(
        "password_reset",
        0.075,
        (
            "I forgot my password, how do I reset it?",
            "The password reset email never arrives.",
            "I clicked the reset link but it says it has expired.",
            "Can you send me a new password reset link?",
            "I changed my password yesterday and now the new one doesn't work.",
            "The reset page says 'invalid token' every time.",
            "I can't remember my password and the reset link goes to an old email address.",
            "How do I change my password in the app?",
            "I reset my password twice and still can't log in.",
            "The reset code you text me never comes through.",
        ),
        (
            "I've checked my spam folder.",
            "I'm using the app on my phone.",
            "I tried on both Chrome and Safari.",
            "I need to get into my account to check an order.",
        ),
        ("Password reset", "Forgot password", "Reset link broken"),
    ),
    Intent(
        "account_locked",
        0.06,
        (
            "My account has been locked and I can't log in.",
            "It says my account is suspended, why?",
            "I was locked out after too many login attempts.",
            "The app says 'account temporarily blocked' when I try to sign in.",
            "I can't access my account, it says it's been frozen for security reasons.",
            "Please unlock my account, I need to pay a bill today.",
            "I got an email saying my account was locked due to suspicious activity.",
            "My account was disabled without any warning.",
            "Two-factor authentication locked me out after I changed phones.",
            "I've been locked out for {days} days now and nobody has helped.",
        ),
        (
            "I didn't do anything unusual.",
            "I have money in my wallet balance that I can't reach.",
            "I already tried resetting my password, it didn't help.",
            "I'm travelling abroad at the moment, maybe that's why.",
        ),
        ("Account locked", "Can't log in", "Account blocked"),
    ),
    Intent(
        "cancel_subscription",
        0.06,
        (
            "Please cancel my {plan} subscription.",
            "How do I stop my monthly membership from renewing?",
            "I want to cancel my {plan} plan before the next billing date.",
            "I don't use the subscription anymore, please end it.",
            "I tried to cancel in the app but there's no cancel button.",
            "Cancel my membership effective immediately please.",
            "I signed up for the free trial and I want to cancel before I'm charged.",
            "Can I downgrade instead of cancelling the {plan} plan?",
            "My subscription renewed on {date} even though I asked to cancel.",
        ),
        (
            "I'd like a confirmation email once it's done.",
            "I don't want to be charged again.",
            "It's just too expensive for me right now.",
            "I'm not deleting my account, just the subscription.",
        ),
        ("Cancel subscription", "Stop membership", "Cancel my plan"),
    ),
    Intent(
        "change_address",
        0.05,
        (
            "I need to change the delivery address for order {order}.",
            "I've moved, how do I update my address on my account?",
            "Can you send my {product} to my work address instead?",
            "I entered the wrong postcode, can you fix it before it ships?",
            "Please update my billing address, I moved last month.",
            "Is it too late to change where order {order} is being delivered?",
            "The address on my account is old and I can't find where to edit it.",
            "Could you redirect the parcel to a pickup point near me?",
        ),
        (
            "The order hasn't shipped yet as far as I can see.",
            "I'll be away from home from {date}.",
            "The flat number is missing from the address.",
            "I don't want it to go to my old place.",
        ),
        ("Change address", "Wrong address", "Update delivery address"),
    ),
    Intent(
        "damaged_item",
        0.05,
        (
            "My {product} arrived broken.",
            "The box was crushed and the {product} inside is cracked.",
            "The {product} I received is damaged, the screen has a crack.",
            "One of the {n_items} items in order {order} arrived smashed.",
            "The {product} stopped working after {days} days.",
            "It arrived with a big scratch on the side.",
            "The {product} was leaking when I opened the parcel.",
            "Parts are missing from the {product} and it doesn't switch on.",
            "The {product} is faulty, it makes a loud noise.",
        ),
        (
            "I have photos of the damage.",
            "Can you send a replacement?",
            "I'd rather have a new one than a refund.",
            "The outer packaging looked fine, so it must have been packed badly.",
        ),
        ("Damaged item", "Arrived broken", "Faulty product"),
    ),
    Intent(
        "complaint",
        0.045,
        (
            "I'm really unhappy with the service I've received.",
            "This is the worst customer service I've ever had.",
            "I've contacted you {n_items} times and nobody has replied.",
            "Your agent on the phone was rude to me.",
            "I want to make a formal complaint.",
            "I waited on hold for over an hour today.",
            "I'm disappointed with how my order {order} was handled.",
            "Every time I contact support I get a different answer.",
            "Your chatbot keeps sending me in circles.",
            "I've been a loyal customer for years and this is how I'm treated?",
        ),
        (
            "I expect a proper answer this time.",
            "I'll be leaving a review about this.",
            "I want to speak to a manager.",
            "This has wasted hours of my time.",
        ),
        ("Complaint", "Very unhappy", "Formal complaint"),
    ),
    Intent(
        "close_account",
        0.019,
        (
            "Please delete my account and all my data.",
            "I want to close my account permanently.",
            "How do I remove my account? I don't shop here anymore.",
            "Please close my account and confirm when it's done.",
            "I'd like my personal data erased under GDPR.",
            "Can you deactivate my account? I'm moving to another provider.",
        ),
        (
            "I've already withdrawn my remaining balance.",
            "Please don't send me any more emails.",
            "I have no open orders.",
        ),
        ("Close account", "Delete my data", "Remove account"),
    ),
)

INTENT_NAMES: tuple[str, ...] = tuple(i.name for i in INTENTS)
BY_NAME: dict[str, Intent] = {i.name: i for i in INTENTS}

# Plausible confusions: the labels a hurried agent might pick instead of the true one.
CONFUSIONS: dict[str, tuple[str, ...]] = {
    "delivery_late": ("complaint", "change_address", "refund_request"),
    "refund_request": ("billing_error", "damaged_item", "cancel_subscription"),
    "billing_error": ("refund_request", "card_declined"),
    "product_question": ("damaged_item", "delivery_late"),
    "card_declined": ("billing_error", "account_locked"),
    "password_reset": ("account_locked",),
    "account_locked": ("password_reset", "close_account"),
    "cancel_subscription": ("close_account", "refund_request", "billing_error"),
    "change_address": ("delivery_late",),
    "damaged_item": ("refund_request", "complaint"),
    "complaint": ("delivery_late", "refund_request", "damaged_item"),
    "close_account": ("cancel_subscription", "account_locked"),
}

# Sentences any intent may use: context, tone and closing requests.
SHARED_CONTEXT: tuple[str, ...] = (
    "I've been a customer for {years} years.",
    "I hope someone can help me.",
    "I'm writing from my phone, sorry for any typos.",
    "This is my second message about this.",
    "I couldn't find the answer in your FAQ.",
    "My order number is {order}, in case you need it.",
    "I really just need a straight answer.",
)
TONES: tuple[str, ...] = (
    "No rush, but I'd appreciate an update.",
    "Thanks for your help in advance.",
    "I know you're busy, so thank you.",
    "This is really frustrating.",
    "Honestly, this is ridiculous.",
    "I'm very disappointed.",
    "Sort it out please!!",
    "Please reply as soon as possible.",
    "This is urgent.",
    "I need this fixed today.",
)
CLOSINGS: tuple[str, ...] = (
    "Can you look into it?",
    "Please let me know what I should do.",
    "What are my options?",
    "Can someone get back to me?",
    "Let me know if you need anything else from me.",
)
GREETINGS: tuple[str, ...] = (
    "Hi,",
    "Hello,",
    "Hi there,",
    "Hey,",
    "Dear support team,",
    "Good morning,",
    "Hello team,",
    "To whom it may concern,",
    "Good afternoon,",
)
SIGNOFFS: tuple[str, ...] = (
    "Thanks.",
    "Thank you!",
    "Cheers",
    "Regards",
    "Thanks in advance.",
    "Appreciate the help.",
    "Many thanks",
)
CHAT_OPENERS: tuple[str, ...] = (
    "hi ", "hello? ", "hey, ", "hi, quick question: ", "", "", "hello, ", "hi there, ", "hey ",
    "good morning, ", "quick one: ", "hiya, ", "um hi, ", "hello, anyone there? ", "hi team, ",
)
PHONE_PREFIXES: tuple[str, ...] = (
    "Caller says: ",
    "Phone call summary - customer reports: ",
    "Call note: ",
    "Customer phoned in. ",
    "Inbound call - ",
    "Caller reports: ",
    "Phone: customer says ",
    "Call summary: ",
)

# ---------------------------------------------------------------------------------------------
# Slot values
# ---------------------------------------------------------------------------------------------

PRODUCTS: tuple[str, ...] = (
    "wireless headset", "standing desk", "coffee grinder", "pair of running shoes", "winter jacket",
    "phone case", "blender", "yoga mat", "desk lamp", "backpack", "smart watch",
    "electric toothbrush", "air fryer", "bluetooth speaker", "office chair", "duvet cover",
    "kettle", "pair of hiking boots", "laptop sleeve", "gaming mouse", "mechanical keyboard",
    "water bottle", "throw blanket", "baby monitor", "cast iron pan", "vacuum cleaner",
    "USB-C charger", "e-reader", "pair of sunglasses", "pair of jeans", "wool sweater", "plant pot set",
    "board game", "camping tent", "bike helmet", "hair dryer", "knife set", "monitor stand",
    "tablet", "pair of noise cancelling earbuds",
)
MODELS: tuple[str, ...] = ("Nimbus 2", "Atlas Pro", "Orbit Mini", "Vega X", "Terra Max", "Pulse S")
CARRIERS: tuple[str, ...] = ("DHL", "UPS", "FedEx", "Royal Mail", "Hermes", "the courier", "DPD")
PLANS: tuple[str, ...] = ("Plus", "Premium", "Family", "annual", "Pro", "monthly")
CARDS: tuple[str, ...] = ("Visa", "Mastercard", "debit card", "credit card", "Amex card")
WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
_RELATIVE_DATES: tuple[str, ...] = ("last week", "two weeks ago", "last Monday", "the 3rd", "the 12th")
_SLOT = re.compile(r"\{(\w+)\}")


def _ordinal(day: int) -> str:
    """Return ``day`` with its English ordinal suffix, e.g. 1 -> '1st', 12 -> '12th'."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _order_id(rng: random.Random) -> str:
    """An order number in one of the shop's three historical formats."""
    form = rng.random()
    if form < 0.5:
        return f"#{rng.randrange(10_000_000, 99_999_999)}"
    if form < 0.8:
        return f"ORD-{rng.randrange(100_000, 999_999)}"
    return str(rng.randrange(1_000_000, 9_999_999))


def money(rng: random.Random, european: bool = False) -> str:
    """An amount of money as a customer would write it ("$49.99", "£120.00", "15,90 €")."""
    value = rng.choice((rng.uniform(4, 60), rng.uniform(20, 400)))
    if european:
        return f"{value:.2f}".replace(".", ",") + " €"
    cur = rng.choice(("$", "£", "€", "$"))
    return f"{cur}{value:.2f}"


def _date(rng: random.Random) -> str:
    """A date phrase: 'March 3rd', '3/14' or a relative phrase."""
    form = rng.random()
    if form < 0.5:
        return f"{rng.choice(MONTHS)} {_ordinal(rng.randint(1, 28))}"
    if form < 0.75:
        return f"{rng.randint(1, 6)}/{rng.randint(1, 28)}"
    return rng.choice(_RELATIVE_DATES)


def _tracking(rng: random.Random) -> str:
    """A parcel tracking number (not personal data)."""
    if rng.random() < 0.5:
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(14))
    return f"JD{rng.randrange(10**15, 10**16)}"


def slot_value(name: str, rng: random.Random, european: bool = False) -> str:
    """Draw a value for template slot ``name`` (e.g. 'order', 'amount', 'product')."""
    simple = {
        "product": PRODUCTS, "model": MODELS, "carrier": CARRIERS, "plan": PLANS,
        "card": CARDS, "weekday": WEEKDAYS,
    }
    if name in simple:
        return rng.choice(simple[name])
    if name == "order":
        return _order_id(rng)
    if name == "amount":
        return money(rng, european)
    if name == "date":
        return _date(rng)
    if name == "days":
        return str(rng.randint(3, 21))
    if name == "years":
        return str(rng.randint(2, 12))
    if name == "n_items":
        return str(rng.randint(2, 5))
    if name == "last4":
        return f"{rng.randrange(10_000):04d}"
    if name == "tracking":
        return _tracking(rng)
    raise KeyError(f"unknown template slot {name!r}")


def fill(template: str, rng: random.Random, european: bool = False) -> str:
    """Replace every ``{slot}`` in ``template`` with a freshly drawn value; returns the text."""
    return _SLOT.sub(lambda m: slot_value(m.group(1), rng, european), template)

"""Synthetic labelled text for training the PII tagger: datamoat makes its own training data.

:func:`generate` writes ``n`` short texts (support tickets, chat lines, letters, forms, shipping
notes, HR and medical notes ...) from the hand-written templates in this file, filled with
values from Faker in many locales, and returns each text with its character spans. Nothing is
read from any data set: the templates were written from general knowledge of how such texts
look, and the values are Faker's. The same ``seed`` gives the same texts.

Span types: PERSON, STREET_ADDRESS (a postal address: street and number, unit, postcode, city,
state; one span even over several lines), LOCATION (a city, region or country named on its
own), ORGANIZATION, DATE_TIME, NRP (nationality, religion, political group), and the pattern
types EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, URL, US_SSN (found by the recognizers; the
tagger learns them as "not a name, not an address"). Titles (``Dr.``) are not part of a name.

Variety on purpose: names in lower case, upper case, family name first, with initials, one
part only; addresses on one line or several, with UK, Canadian, Dutch, Polish ... postcodes,
house numbers before or after the street; casing, punctuation and spacing noise on whole
texts; texts with no personal data at all.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime

from faker import Faker

NAME_LOCALES = (
    "en_US", "en_US", "en_US", "en_US", "en_GB", "en_GB", "en_GB", "en_US", "en_AU", "de_DE", "fr_FR", "es_ES",
    "it_IT", "nl_NL", "en_US", "en_GB", "en_AU", "en_CA", "en_IE", "en_IN", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA",
    "es_ES", "es_MX", "it_IT", "nl_NL", "nl_BE", "pt_PT", "pt_BR", "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI",
    "hu_HU", "cs_CZ", "ro_RO", "hr_HR", "sk_SK", "sl_SI", "tr_TR", "et_EE", "lv_LV", "lt_LT", "id_ID", "vi_VN",
    "ru_RU", "uk_UA", "el_GR", "zh_CN", "ja_JP", "ko_KR", "ar_AA", "hi_IN", "he_IL", "fa_IR", "tl_PH", "sw",
    "yo_NG", "zu_ZA", "az_AZ", "ga_IE", "tw_GH", "uz_UZ", "en_PK", "en_TH", "es_CO", "es_AR", "es_CL", "en_KE",
    "en_NG", "ha_NG", "ig_NG", "is_IS",
)
ADDRESS_LOCALES = (
    "en_US", "en_US", "en_US", "en_GB", "en_GB", "en_AU", "en_CA", "en_IE", "en_IN", "en_NZ", "de_DE", "de_DE",
    "de_AT", "de_CH", "fr_FR", "fr_FR", "fr_CH", "es_ES", "es_MX", "it_IT", "nl_NL", "nl_BE", "pt_PT", "pt_BR",
    "pl_PL", "sv_SE", "da_DK", "no_NO", "fi_FI", "hu_HU", "cs_CZ", "ro_RO", "hr_HR", "sk_SK",
)
NRP = (
    "American", "British", "German", "French", "Spanish", "Italian", "Dutch", "Polish", "Swedish", "Norwegian",
    "Finnish", "Danish", "Hungarian", "Czech", "Romanian", "Greek", "Turkish", "Russian", "Ukrainian", "Chinese",
    "Japanese", "Korean", "Indian", "Pakistani", "Nigerian", "Kenyan", "Brazilian", "Mexican", "Canadian",
    "Australian", "Irish", "Scottish", "Welsh", "Portuguese", "Vietnamese", "Filipino", "Egyptian", "Moroccan",
    "Christian", "Catholic", "Protestant", "Muslim", "Jewish", "Hindu", "Buddhist", "Sikh", "atheist",
    "Democrat", "Republican", "Conservative", "Labour", "Green party", "Socialist", "Liberal",
)
PRODUCTS = (
    "Premium plan", "Basic plan", "Pro account", "Gold card", "Smart TV", "Wireless Router X2", "Model S",
    "iPhone", "Galaxy Tab", "Office 365", "Windows", "Linux", "Excel", "Slack", "Zoom", "Teams", "Outlook",
    "Prime", "Netflix", "Spotify", "PlayStation", "Xbox", "Kindle", "MacBook Air", "ThinkPad", "Android",
)
TITLES = ("Mr.", "Mrs.", "Ms.", "Miss", "Dr.", "Prof.", "Mr", "Mrs", "Ms", "Dr", "Sir", "Herr", "Frau", "Mme", "Sr.", "Sra.")
NAME_PARTICLES = ("van", "van der", "van den", "de", "de la", "del", "da", "dos", "von", "bin", "ibn", "al", "el",
                  "di", "le", "ter", "ben", "mac")
"""Particles put between a first and a last name in some generated names (``Luis de la Vega``)."""
ORG_FORMS = ("{last} Bank", "Bank of {city}", "{city} University", "University of {city}", "{city} General Hospital",
             "{last} & Partners", "{last} Consulting", "{city} City Council", "{last} Logistics", "St. {first}'s School",
             "{last} Insurance", "{city} Police Department", "{last} Motors", "{last} Pharma")
DATE_FORMS = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y", "%b %d", "%d %b", "%A",
              "%B %Y", "%Y", "%A, %B %d", "%d-%m-%y", "%H:%M", "%B")

# Slots: {PERSON} full name, {FIRST}, {LAST}, {TPERSON} title + name, {ADDRESS} postal address
# (maybe several lines), {STREET} street line only, {CITY}, {COUNTRY}, {LOCATION}, {ORG}, {DATE},
# {NRP}, {EMAIL}, {PHONE}, {CARD}, {IBAN}, {IP}, {URL}, {SSN}, {PRODUCT}, {NUM}, {AMOUNT}.
TEMPLATES = (
    "My name is {PERSON} and I live at {ADDRESS}.",
    "Hi, this is {FIRST}. Could you send the invoice to {ADDRESS}?",
    "Please ship the order to {PERSON}, {ADDRESS}",
    "Deliver to:\n{PERSON}\n{ADDRESS}",
    "Name: {PERSON}\nAddress: {ADDRESS}\nPhone: {PHONE}",
    "Name: {PERSON}\nEmail: {EMAIL}\nDate of birth: {DATE}",
    "Customer: {PERSON} | Account: {NUM} | Card: {CARD}",
    "Dear {TPERSON},\n\nthank you for your letter of {DATE}. We have updated your address to {ADDRESS}.\n\nKind regards,\n{PERSON}\n{ORG}",
    "Dear {FIRST},\nyour parcel is on its way to {ADDRESS}.\nBest,\n{FIRST}",
    "Hello, I moved from {CITY} to {ADDRESS} last month, please update my records.",
    "I'm {PERSON}, a {NRP} citizen living in {CITY}.",
    "{PERSON} called on {DATE} about the refund for the {PRODUCT}.",
    "Spoke with {FIRST} from {ORG}; she will call back at {PHONE}.",
    "Can you reset the password for {EMAIL}? It belongs to {PERSON}.",
    "Meeting with {TPERSON} at {ORG} on {DATE} in {CITY}.",
    "The package for {PERSON} was left at {ADDRESS} instead of {STREET}.",
    "Please contact {PERSON} ({EMAIL}, {PHONE}) regarding the lease at {ADDRESS}.",
    "{FIRST} {LAST} works for {ORG} in {LOCATION}.",
    "hey its {FIRST} again, my card {CARD} got declined",
    "my name is {PERSON} and my address is {ADDRESS}",
    "i live at {ADDRESS}, can someone come fix the router",
    "Patient {PERSON}, born {DATE}, was admitted to {ORG} on {DATE}.",
    "Employee {PERSON} (ID {NUM}) transferred from {CITY} to {CITY} on {DATE}.",
    "Transfer {AMOUNT} to {PERSON}, IBAN {IBAN}, reference {NUM}.",
    "Login from {IP} for user {FIRST} at {DATE}.",
    "{PERSON} visited {URL} from {IP}.",
    "Our office has moved! New address: {ADDRESS}.",
    "Return address: {ADDRESS}",
    "Billing address\n{ADDRESS}\nShipping address\n{ADDRESS}",
    "The {ORG} branch on {STREET} will close on {DATE}.",
    "I ordered a {PRODUCT} on {DATE} and it never arrived at {ADDRESS}.",
    "Thanks {FIRST}!",
    "Regards,\n{PERSON}",
    "Best wishes, {PERSON}",
    "Cheers,\n{FIRST}\n{PHONE}",
    "Sent by {PERSON} <{EMAIL}>",
    "{LAST}, {FIRST} - {ADDRESS} - {PHONE}",
    "Contact person: {TPERSON}, {ORG}, {ADDRESS}",
    "{TPERSON} will see you on {DATE} at our {CITY} office.",
    "Could {PERSON} please confirm the booking for {DATE}?",
    "As discussed with {PERSON} and {PERSON}, the contract with {ORG} starts on {DATE}.",
    "{PERSON}'s new phone number is {PHONE}.",
    "I am writing on behalf of my mother, {PERSON}, who lives at {ADDRESS}.",
    "My husband {FIRST} and I would like to cancel our {PRODUCT}.",
    "My SSN is {SSN} and my name is {PERSON}.",
    "Social security number: {SSN}",
    "The {NRP} delegation led by {TPERSON} arrived in {COUNTRY} on {DATE}.",
    "{PERSON} was born in {CITY}, {COUNTRY} and moved to {ADDRESS}.",
    "Send the documents to {ORG}, {ADDRESS}, attention {PERSON}.",
    "Hi team, {FIRST} here. The server at {IP} is down again.",
    "Ticket assigned to {FIRST} {LAST}.",
    "Assigned to: {PERSON}",
    "From: {PERSON}\nTo: {PERSON}\nSubject: {PRODUCT} renewal",
    "Please update the card on file to {CARD}, expiry {DATE}.",
    "Hello {FIRST}, your appointment with {TPERSON} is on {DATE}.",
    "Our driver could not find {ADDRESS}. Please call {PERSON} on {PHONE}.",
    "We visited {LOCATION} and {LOCATION} in {DATE}.",
    "The weather in {CITY} was awful on {DATE}.",
    "{ORG} reported record profits in {DATE}.",
    "Shares of {ORG} fell after the announcement on {DATE}.",
    "Invoice {NUM} for {ORG}, {ADDRESS}",
    "The tenant, {PERSON}, has lived at {STREET} since {DATE}.",
    "Property: {ADDRESS}\nOwner: {PERSON}\nValue: {AMOUNT}",
    "Emergency contact: {PERSON}, {PHONE}",
    "Next of kin: {PERSON} ({NRP}), {ADDRESS}",
    "I want to speak to a manager. This is the third time I call about order {NUM}!",
    "The {PRODUCT} stopped working after the update. Please help.",
    "How do I change my {PRODUCT} subscription?",
    "Your order {NUM} has shipped and will arrive on {DATE}.",
    "Reset my password please, I cannot log in to {URL}.",
    "Great service, thank you very much!",
    "The app crashes when I open Settings on my {PRODUCT}.",
    "Where is my refund? I returned the item on {DATE}.",
    "Can I pay with a card from {COUNTRY}?",
    "Support Team\n{ORG}\n{ADDRESS}\n{PHONE}",
    "Please find attached the report from {ORG} about the {LOCATION} project.",
    "{PERSON} (born {DATE}) lives at {ADDRESS} with her son {FIRST}.",
    "According to {TPERSON}, the {NRP} community in {CITY} has grown.",
    "{FIRST} said: \"I'll be at {ADDRESS} around {DATE}.\"",
    "Pick up: {ADDRESS}; Drop off: {ADDRESS}",
    "Driver {FIRST} is arriving at {STREET} in 5 minutes.",
    "Apartment for rent at {ADDRESS}. Call {FIRST} at {PHONE}.",
    "Wedding of {PERSON} and {PERSON}, {DATE}, {LOCATION}.",
    "In memory of {PERSON}, {DATE} - {DATE}.",
    "{PERSON}\n{ADDRESS}\n{EMAIL}",
    "{PERSON}, {ADDRESS}",
    "Applicant: {PERSON}; Nationality: {NRP}; Address: {ADDRESS}",
    "Signed, {PERSON}, {ORG}",
    "cc: {PERSON}, {PERSON}",
    "Thank you {TPERSON} for your help with my claim.",
    "Is {FIRST} available tomorrow? I need help with {PRODUCT}.",
    "Please ask {LAST} in accounting about invoice {NUM}.",
    "{FIRST} and {FIRST} from the {CITY} office joined the call.",
    "the courier left it with my neighbour {FIRST} at {STREET}",
    "write to me at {ADDRESS} or email {EMAIL}",
    "Card holder: {PERSON}, card number {CARD}",
    "Account holder {PERSON}, IBAN: {IBAN}",
    "The flight from {CITY} to {CITY} on {DATE} was cancelled.",
    "He travelled to {COUNTRY} with {ORG} for the {NRP} festival.",
    "Report by {PERSON}, {ORG}, {CITY}, {DATE}.",
    "Please forward this to {PERSON} before {DATE}.",
    "The letter was addressed to {PERSON}.",
    "I gave the keys to {FIRST} yesterday.",
    "Send a copy to {TPERSON} and to {PERSON}.",
    "Ship it to {STREET}, please.",
    "Send it to {ADDRESS}, thanks.",
    "Talk to {FIRST} about it, she knows the details.",
    "This goes to {PERSON} in {CITY}.",
    "Reply to {PERSON} at {EMAIL}.",
    "Sold to {PERSON} for {AMOUNT}.",
    "The refund was sent to {PERSON} on {DATE}.",
    "Good afternoon, {FIRST} here from {ORG}.",
    "Good morning {FIRST}, thanks for the quick reply.",
    "{PERSON} wrote:",
    "On {DATE}, {PERSON} wrote:\n> see attached",
    "Many thanks to {PERSON} and {PERSON} for their help.",
    "{PERSON}, {PERSON} and {PERSON} attended the meeting.",
    "Attendees: {PERSON}; {PERSON}; {PERSON}",
    "Approved by {TPERSON} on {DATE}.",
    "{TPERSON} prescribed 20 mg twice a day.",
    "{LAST} told reporters that the deal was off.",
    "According to {PERSON}, the shipment left {CITY} on {DATE}.",
    "I met {FIRST} at the conference in {CITY}.",
    "Ask for {FIRST} at reception.",
    "{FIRST}'s birthday is on {DATE}.",
    "Is this {FIRST}'s phone? I found it on the bus.",
    "My daughter {FIRST} starts school in {DATE}.",
    "ATTN: {PERSON}",
    "Re: complaint from {PERSON}",
    "Hi {FIRST} {LAST},\nwe received your request.",
    "Hey {FIRST}, are you coming tonight?",
    "{FIRST}: ok see you at 5",
    "[{DATE}] {FIRST}: can you check the logs?",
    "Author: {PERSON}",
    "Interviewer: {PERSON}\nRespondent: {PERSON}",
    "Witness statement of {PERSON}, taken on {DATE}.",
    "I, {PERSON}, hereby confirm that the information above is correct.",
    "Signed by {PERSON} in the presence of {PERSON}.",
    "Referred by {TPERSON} to {TPERSON}.",
    "{PERSON} is a {NRP} engineer based in {CITY}.",
    "{PERSON} joined {ORG} as head of sales in {DATE}.",
    "We have received a payment of {AMOUNT} from {PERSON}.",
    "Congratulations to {PERSON} on the promotion!",
    "Welcome aboard, {FIRST}!",
    "Please welcome our new colleague {PERSON}.",
    "{PERSON} has been promoted to team lead.",
    "Passenger name: {PERSON}",
    "Guest: {PERSON}, room {NUM}",
    "The reservation is under the name {LAST}.",
    "Please call me back. {PERSON}, {PHONE}",
    "Sincerely yours,\n{TPERSON}",
    "Your landlord {PERSON} can be reached at {PHONE}.",
    "Student {PERSON} passed the exam with distinction.",
    "{LAST} scored twice in the second half.",
    "{PERSON} v. {ORG}, decided {DATE}",
    "Doctor's note: {PERSON} should rest for 3 days.",
    "Does anyone know {FIRST}? She used to live on {STREET}.",
    "I'm looking for {PERSON}, last seen in {CITY}.",
    "{PERSON} and I went to school together.",
    "When {FIRST} called, I was still at work.",
    "Only {FIRST} knows the password.",
    "My colleague {PERSON} will take over the case.",
    "Tell {FIRST} I said hi.",
    "Why did {FIRST} leave so early?",
    "{FIRST}, can you review this by {DATE}?",
    "Photo by {PERSON}",
    "Written by {PERSON} and edited by {PERSON}.",
    "the new guy {FIRST} {LAST} starts monday",
    "{TPERSON} and {TPERSON} signed the lease for {ADDRESS}.",
    "Lost wallet belonging to {PERSON}, please return to {ADDRESS}.",
    "{PERSON} ({DATE}) - {ORG}",
    "Paid to the order of {PERSON}",
    "Beneficiary: {PERSON}\nBank: {ORG}\nIBAN: {IBAN}",
    "{FIRST} from {CITY} asks: is the shop open on Sunday?",
    "Customer {PERSON} complained that the {PRODUCT} was broken.",
    "We spoke to {PERSON}'s lawyer, {TPERSON}.",
    "Dr {LAST} will see {PERSON} next week.",
    "Mr and Mrs {LAST} arrive on {DATE}.",
    # names in more places and shapes: lists, possessives, lower-case chat, signatures, next to
    # punctuation, at the start of a sentence before a verb, after a role or a relation
    "{FIRST}, {FIRST} and {FIRST} will join the call on {DATE}.",
    "i met {FIRST} yesterday and she said the shop was closed",
    "{PERSON}'s application was approved on {DATE}.",
    "We forwarded {FIRST}'s complaint to {ORG}.",
    "Thanks,\n{PERSON}\nCustomer Success Manager\n{ORG}",
    "--\n{PERSON}\n{PHONE}",
    "lol {FIRST} forgot the keys again",
    "ok thx - {FIRST}",
    "{PERSON} confirmed the transfer of {AMOUNT}.",
    "{PERSON} lives in {CITY} and works as a nurse.",
    "The contract was signed by {PERSON} ({ORG}) and {PERSON}.",
    "Our CEO, {PERSON}, will present the results.",
    "Head of support {PERSON} replied within an hour.",
    "Mum and {FIRST} are visiting {CITY} next week.",
    "Can you send the file to {FIRST}? Thx",
    "talked to {FIRST} {LAST} about it, he agreed",
    "{FIRST} {LAST}\n{ADDRESS}",
    "Hi {FIRST},\n\nI hope you are well. {FIRST} and I reviewed the draft.\n\nBest,\n{FIRST}",
    "The account was opened by {PERSON} in {DATE}.",
    "Was it {FIRST} or {FIRST} who called?",
    "{LAST} family, {ADDRESS}",
    "Invited: {PERSON}, {PERSON}, {PERSON} and {PERSON}",
    "{PERSON} - {ORG} - {EMAIL}",
    "\"{FIRST}, where is my order?\" asked {PERSON}.",
    "Notes from the call with {PERSON}:",
    "@{FIRST} can you take a look?",
    "{PERSON} (she/her) leads the design team.",
    "Please note: {TPERSON} is on leave until {DATE}.",
    "{TPERSON}'s office is on the second floor.",
    "I bought it from {FIRST} on {DATE} for {AMOUNT}.",
    "Nobody told {FIRST} that the meeting was cancelled.",
    "my sister {FIRST} lives at {ADDRESS}",
    "Send my regards to {FIRST} and the kids.",
    "{FIRST} {LAST} ({NRP}, born {DATE})",
    "Police are looking for {PERSON}, aged {NUM}.",
    "In {DATE}, {PERSON} founded {ORG} in {CITY}.",
    "The prize went to {PERSON} of {ORG}.",
    "Interview with {PERSON}, {ORG}",
    "Name of account holder: {PERSON}",
    "This letter confirms that {PERSON}, residing at {ADDRESS}, is our tenant.",
    "Hey it's me, {FIRST}. Call me back when you can.",
    "Shout-out to {FIRST} for fixing the build!",
    "{FIRST} wants to know if {FIRST} can come too.",
    "Yesterday {PERSON} told us the price had changed.",
    "According to her doctor, {TPERSON}, she needs rest.",
    "{FIRST}'s and {FIRST}'s tickets are attached.",
    "Please add {PERSON} to the mailing list.",
    "Goodbye and thanks for everything, {FIRST}.",
    "Handled by agent {FIRST} on {DATE}.",
    "{PERSON}, {PERSON}; {PERSON}",
    "cc {FIRST} {LAST}",
    "The owner of the car, {PERSON}, was not at home.",
    "Did you hear from {FIRST}?",
    "I have an appointment with {TPERSON} at 3 pm.",
    "{PERSON} has asked for a refund of {AMOUNT} to card {CARD}.",
    "Ms {LAST} from {ORG} rang about invoice {NUM}.",
    "Good news from {FIRST}: the visa was approved!",
    "Me and {FIRST} are going to {CITY} on {DATE}.",
)
# Made-up names (random syllables): the tagger must also find names that are in no name
# list, from their context and shape alone.
SYLLABLES = ("ka", "lo", "mi", "ran", "de", "vi", "tor", "sa", "nel", "bu", "ri", "go", "fen", "ta", "mar", "el",
             "zo", "qui", "ha", "dus", "ne", "pra", "lin", "ko", "sev", "ju", "ba", "ost", "ilo", "wen", "ch", "ya")
DEV_SYLLABLES = ("po", "le", "tam", "isu", "rek", "fa", "no", "gri", "ben", "sho", "va", "dri", "um", "kel", "ti",
                 "bra", "yo", "mes", "ar", "lun", "pe", "zan", "ok", "hir")
"""The development set's made-up names use other syllables than training's."""
# sentences with no personal data (numbers, prices, times and products that are not addresses
# or names), mixed into most texts: real text is mostly this
FILLER = (
    "I have been waiting for {NUM} days and nobody has answered.",
    "The total was {AMOUNT} but I was charged twice.",
    "It says error {NUM} when I try to log in.",
    "Delivery was supposed to take 3-5 business days.",
    "This is really frustrating, please fix it as soon as possible.",
    "I already restarted it twice and cleared the cache.",
    "Can you tell me how long a refund usually takes?",
    "The screen is cracked and the battery drains in 2 hours.",
    "My order number is {NUM} and it still shows as processing.",
    "Honestly this is ridiculous, I expected better.",
    "Thanks in advance for your help.",
    "We need 12 chairs and 3 tables for the event.",
    "The meeting is moved to 10:30 in room 4B.",
    "Version 2.4.1 fixed the crash but the sync is still slow.",
    "Prices went up by 15% since last year.",
    "Please note that the store closes at 6 pm on weekends.",
    "The package weighed 2.5 kg and cost {AMOUNT} to ship.",
    "I paid {AMOUNT} for express shipping and it came late anyway.",
    "Is there a discount for orders over 100 items?",
    "The tracking page has not updated since {DATE}.",
    "It was delivered on {DATE} but the box was empty.",
    "Step 1: open the app. Step 2: tap Settings. Step 3: choose Account.",
    "Our team will get back to you within 24 hours.",
    "The invoice lists 4 items but only 3 arrived.",
    "Temperature dropped to -5 degrees overnight and the heating failed.",
    "Rated 4 out of 5 stars, would buy again.",
    "Room 12 needs cleaning before the 3 pm check-in.",
    "The new policy applies from {DATE} to all customers.",
    "I tried calling but the line was busy for an hour.",
    "Could you double check the amount? It looks wrong to me.",
    "No rush, but an update would be appreciated.",
    "Sent from my phone, sorry for the typos.",
    "The warranty covers 2 years of parts and labour.",
    "Chapter 7 explains the rules in more detail.",
    "Please allow 7 to 10 working days for processing.",
    "The app keeps asking me to update to version {NUM}.",
    "i just want my money back",
    "still broken after the last update, very disappointed",
    "The blue one is out of stock, the red one ships in 2 weeks.",
    "Our quarterly numbers look good: revenue up 8 percent.",
    "Bus 42 was late again this morning.",
    "Gate 15 is closed, please go to gate 22.",
    "Top 10 tips for a faster laptop.",
    "Add 2 cups of flour and bake for 25 minutes.",
    "The discount code SAVE20 did not work at checkout.",
    "Buy 1 get 1 free until the end of the month.",
    "Level 3 of the car park is reserved for staff.",
    "Platform 9 is closed for repairs until further notice.",
    "Good afternoon,", "Good morning,", "Good evening,", "Hello team,", "Hi there,", "Hi all,", "Dear Sir or Madam,",
    "To whom it may concern,", "Kind regards", "Best regards,", "Thanks!", "Cheers",
    "The shipment is held at customs.", "The running shoes are too small, can I swap them?",
    "The verification code never arrived.", "Perhaps that explains the error.",
    "Please send it back to the warehouse.", "I want to return it to the store.",
    "It was sent to the wrong address.", "Forward this to the billing team, please.",
    "Order Status Update", "Customer Service Request", "Subject: Refund Request", "New Year Sale starts Monday!",
    "Happy Birthday!", "Terms and Conditions apply.", "Black Friday deals on Smart Home Devices.",
    "Read our Privacy Policy and Cookie Notice.", "Welcome to the Help Center.", "Thank You For Your Order",
    "Account Settings > Security > Two-Factor Authentication", "Follow us on Twitter and Facebook.",
    "Fortune favours the bold.", "Patience is a virtue.", "Nothing ventured, nothing gained.",
    "Monday mornings are the worst.", "Summer Collection now in stores.", "Grand Opening this Saturday",
)
# a whole text that is a list of fields, one per line
FORM_FIELDS = (
    ("Name", "{PERSON}"), ("Full name", "{PERSON}"), ("Customer", "{PERSON}"), ("Contact", "{PERSON}"),
    ("Address", "{ADDRESS}"), ("Street", "{STREET}"), ("Home address", "{ADDRESS}"), ("City", "{CITY}"),
    ("Country", "{COUNTRY}"), ("Company", "{ORG}"), ("Employer", "{ORG}"), ("Email", "{EMAIL}"), ("Phone", "{PHONE}"),
    ("Mobile", "{PHONE}"), ("DOB", "{DATE}"), ("First name", "{FIRST}"), ("Last name", "{LAST}"), ("Surname", "{LAST}"),
    ("Given name", "{FIRST}"), ("Emergency contact", "{PERSON}"), ("Manager", "{TPERSON}"), ("Date", "{DATE}"), ("Nationality", "{NRP}"), ("IBAN", "{IBAN}"),
    ("Card", "{CARD}"), ("Order", "{NUM}"), ("Product", "{PRODUCT}"), ("Amount", "{AMOUNT}"),
)
DATE_FROM, DATE_TO = datetime(1950, 1, 1), datetime(2025, 12, 31)
"""The range of the generated dates (fixed, so the same seed gives the same texts on any day)."""
_SLOT = re.compile(r"\{([A-Z]+)\}")
SLOT_TYPES = {
    "PERSON": "PERSON", "FIRST": "PERSON", "LAST": "PERSON", "TPERSON": "PERSON", "ADDRESS": "STREET_ADDRESS",
    "STREET": "STREET_ADDRESS", "CITY": "LOCATION", "COUNTRY": "LOCATION", "LOCATION": "LOCATION",
    "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "NRP": "NRP", "EMAIL": "EMAIL", "PHONE": "PHONE",
    "CARD": "CREDIT_CARD", "IBAN": "IBAN", "IP": "IP_ADDRESS", "URL": "URL", "SSN": "US_SSN",
    "PRODUCT": None, "NUM": None, "AMOUNT": None,
}
Spans = list[tuple[str, int, int]]


PARTS = ("all", "train", "dev")
"""Which sentence templates a writer uses: all of them, or the training / development share
(every fifth template is held out for development, so a model's dev score is measured on
sentence contexts it never saw)."""
MADE_UP_NAMES = 0.08
"""Default share of first and last names made up from :data:`SYLLABLES` (:data:`DEV_SYLLABLES`
in the development part) instead of taken from Faker's lists: names in no list."""


def templates_of(part: str) -> tuple[str, ...]:
    """The sentence templates of ``part`` (see :data:`PARTS`)."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; known: {', '.join(PARTS)}")
    if part == "all":
        return TEMPLATES
    return tuple(t for i, t in enumerate(TEMPLATES) if (i % 5 == 2) == (part == "dev"))


class SynthWriter:
    """Seeded writer of labelled texts (one Faker per locale, one ``random.Random``).

    part: which templates to use (:data:`PARTS`).
    made_up: the share of first and last names made up (:data:`MADE_UP_NAMES`).
    """

    def __init__(self, seed: int, part: str = "all", made_up: float = MADE_UP_NAMES) -> None:
        self.rng = random.Random(seed)
        self._fakers: dict[str, Faker] = {}
        self._seed = seed
        self.templates = templates_of(part)
        self.made_up_share = made_up
        self.syllables = DEV_SYLLABLES if part == "dev" else SYLLABLES

    def faker(self, locale: str) -> Faker:
        fk = self._fakers.get(locale)
        if fk is None:
            fk = Faker(locale)
            fk.seed_instance(self._seed * 7919 + len(self._fakers))
            for provider in fk.get_providers():
                # it_IT's city list is built from a set (its order follows the string hash seed
                # of the process): sorted, the same seed gives the same texts in every process
                if isinstance(getattr(provider, "cities", None), list):
                    provider.cities = sorted(provider.cities)
            self._fakers[locale] = fk
        return fk

    # ---- values -------------------------------------------------------------------------
    def first(self, fk: Faker) -> str:
        return self.made_up() if self.rng.random() < self.made_up_share else fk.first_name().split()[0]

    def last(self, fk: Faker) -> str:
        return self.made_up() if self.rng.random() < self.made_up_share else fk.last_name()

    def made_up(self) -> str:
        """A name that is in no list: two or three random syllables, capitalised."""
        return "".join(self.rng.choice(self.syllables) for _ in range(self.rng.randint(2, 3))).capitalize()

    def person(self, fk: Faker) -> list[tuple[str, str | None]]:
        """A full name as (text, type) pieces; a title stays outside the PERSON span."""
        r = self.rng.random()
        first, last = self.first(fk), self.last(fk)
        if r < 0.55:
            name = f"{first} {last}"
        elif r < 0.65:
            name = f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
        elif r < 0.72:
            name = f"{first} {self.first(fk)} {last}"
        elif r < 0.78:
            name = f"{last} {first}"
        elif r < 0.84:
            name = f"{first[0]}. {last}"
        elif r < 0.89:
            name = f"{first} {last}-{self.last(fk)}"
        elif r < 0.93:
            name = f"{first} {self.rng.choice(NAME_PARTICLES)} {last}"
        else:
            name = fk.name()
            name = re.sub(r"^(?:[A-Z][a-z]{0,3}\.\s*)+", "", name).strip() or f"{first} {last}"
        return [(self.case(name), "PERSON")]

    def case(self, value: str) -> str:
        r = self.rng.random()
        return value.lower() if r < 0.12 else value.upper() if r < 0.16 else value

    def address(self, fk: Faker, street_only: bool = False) -> str:
        rng = self.rng
        if street_only:
            value = fk.street_address()
        else:
            r = rng.random()
            if r < 0.55:
                value = fk.address()
            elif r < 0.7:
                value = f"{fk.street_address()}, {fk.city()}"
            elif r < 0.85:
                value = f"{fk.street_address()}\n{fk.postcode()} {fk.city()}"
            else:
                value = f"{fk.street_address()}, {fk.city()} {fk.postcode()}"
            sep = rng.random()
            if sep < 0.45:
                value = value.replace("\n", ", ")
            elif sep < 0.55:
                value = value.replace("\n", " ")
        if rng.random() < 0.12:
            value = value.lower()
        elif rng.random() < 0.04:
            value = value.upper()
        return value

    def value(self, slot: str, name_fk: Faker, addr_fk: Faker) -> list[tuple[str, str | None]]:
        """The (text, type) pieces that fill one slot."""
        rng, fk = self.rng, addr_fk
        if slot == "PERSON":
            return self.person(name_fk)
        if slot == "TPERSON":
            title = rng.choice(TITLES)
            name = self.case(self.last(name_fk) if rng.random() < 0.5 else f"{self.first(name_fk)} {self.last(name_fk)}")
            # mostly a space after the title, sometimes none (``Mr.Smith``, ``Dr.Ng``)
            return [(title + (" " if rng.random() < 0.9 or not title.endswith(".") else ""), None), (name, "PERSON")]
        if slot == "FIRST":
            return [(self.case(self.first(name_fk)), "PERSON")]
        if slot == "LAST":
            return [(self.case(self.last(name_fk)), "PERSON")]
        fills: dict[str, Callable[[], str]] = {
            "ADDRESS": lambda: self.address(fk),
            "STREET": lambda: self.address(fk, street_only=True),
            "CITY": fk.city,
            "COUNTRY": fk.country,
            "LOCATION": lambda: rng.choice((fk.city, fk.country, lambda: f"{fk.city()}, {fk.country()}"))(),
            "ORG": lambda: fk.company() if rng.random() < 0.7 else rng.choice(ORG_FORMS).format(
                last=self.last(fk), city=fk.city(), first=self.first(fk)),
            # a fixed range: Faker's date_time() ends at today, so its dates would change by the day
            "DATE": lambda: fk.date_time_between(DATE_FROM, DATE_TO).strftime(rng.choice(DATE_FORMS)),
            "NRP": lambda: rng.choice(NRP),
            "EMAIL": fk.email,
            "PHONE": fk.phone_number,
            "CARD": fk.credit_card_number,
            "IBAN": fk.iban,
            "IP": lambda: fk.ipv4() if rng.random() < 0.85 else fk.ipv6(),
            "URL": fk.url,
            "SSN": lambda: self.faker("en_US").ssn(),
            "PRODUCT": lambda: rng.choice(PRODUCTS),
            "NUM": lambda: str(rng.randint(10, 99_999_999)),
            "AMOUNT": lambda: rng.choice(("$", "€", "£", "")) + f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}",
        }
        return [(fills[slot](), SLOT_TYPES[slot])]

    # ---- texts --------------------------------------------------------------------------
    def template(self) -> str:
        rng = self.rng
        if rng.random() < 0.12:
            fields = rng.sample(FORM_FIELDS, rng.randint(2, 6))
            sep = rng.choice((": ", ":", " - ", ": "))
            return "\n".join(f"{k}{sep}{v}" for k, v in fields)
        if rng.random() < 0.2:  # nothing personal at all
            parts = [self.filler() for _ in range(rng.randint(1, 4))]
        else:
            parts = [rng.choice(self.templates) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                parts.insert(rng.randint(0, len(parts)), self.filler())
        return rng.choice((" ", " ", " ", "\n", "\n\n")).join(parts)

    def filler(self) -> str:
        """A sentence with no personal data: a hand-written one, or Faker's English lorem
        (common English words, mostly lower case: the tagger must not read them as names)."""
        if self.rng.random() < 0.5:
            return self.rng.choice(FILLER)
        sentence = self.faker("en_US").sentence(nb_words=self.rng.randint(4, 14))
        return sentence.lower() if self.rng.random() < 0.3 else sentence

    def text(self) -> tuple[str, Spans]:
        """One labelled text: ``(text, [(type, start, end), ...])``."""
        rng = self.rng
        name_fk = self.faker(rng.choice(NAME_LOCALES))
        addr_fk = self.faker(rng.choice(ADDRESS_LOCALES))
        pieces: list[tuple[str, str | None]] = []
        pos = 0
        template = self.template()
        for m in _SLOT.finditer(template):
            pieces.append((m.string[pos:m.start()], None))
            if rng.random() < 0.3:  # several people and places in one text
                name_fk = self.faker(rng.choice(NAME_LOCALES))
            pieces.extend(self.value(m.group(1), name_fk, addr_fk))
            pos = m.end()
        pieces.append((template[pos:], None))
        pieces = self.noise(pieces)
        text, spans, at = [], [], 0
        for value, kind in pieces:
            if kind is not None and value.strip():
                lead = len(value) - len(value.lstrip())
                spans.append((kind, at + lead, at + len(value.rstrip())))
            text.append(value)
            at += len(value)
        return "".join(text), spans

    def noise(self, pieces: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        """Casing, punctuation and spacing noise over a whole text (PII values keep their length
        or are changed as a whole)."""
        r = self.rng.random()
        if r < 0.08:
            pieces = [(v.lower(), k) for v, k in pieces]
        elif r < 0.1:
            pieces = [(v.upper(), k) for v, k in pieces]
        if self.rng.random() < 0.12:
            pieces = [(v.replace(",", "").replace(".", "") if k is None else v, k) for v, k in pieces]
        if self.rng.random() < 0.05:
            pieces = [(v.replace(" ", "  ") if k is None else v, k) for v, k in pieces]
        return pieces


def generate(n: int, seed: int = 0, part: str = "all", made_up: float = MADE_UP_NAMES) -> list[tuple[str, Spans]]:
    """``n`` labelled texts (see the module docstring) from the templates of ``part``
    (:data:`PARTS`) with a share ``made_up`` of made-up names; the same arguments give the same texts."""
    writer = SynthWriter(seed, part, made_up)
    return [writer.text() for _ in range(n)]

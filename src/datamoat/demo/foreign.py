"""German, French and Spanish phrasings of every intent, for the ~2% non-English tickets.

Each language maps intent -> core sentences, plus greetings and closings. Templates use only
the language-neutral slots ``{order}``, ``{amount}`` (European format) and ``{days}`` so no English
words leak into a non-English ticket.
"""

from __future__ import annotations

import random

from datamoat.demo.intents import fill

FOREIGN: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "delivery_late": (
            "Meine Bestellung {order} ist immer noch nicht angekommen.",
            "Das Paket sollte schon vor {days} Tagen da sein, wo bleibt es?",
            "Die Sendungsverfolgung zeigt seit einer Woche keine Bewegung mehr.",
        ),
        "refund_request": (
            "Ich möchte mein Geld für die Bestellung {order} zurück.",
            "Ich habe die Ware vor {days} Tagen zurückgeschickt und noch keine Erstattung erhalten.",
            "Bitte erstatten Sie mir die {amount}.",
        ),
        "billing_error": (
            "Mir wurden {amount} doppelt abgebucht.",
            "Auf meiner Rechnung steht ein falscher Betrag.",
            "Ich habe eine Abbuchung, die ich nicht zuordnen kann.",
        ),
        "product_question": (
            "Hat dieses Gerät eine Garantie?",
            "Ist der Artikel bald wieder lieferbar?",
            "Welche Maße hat das Produkt genau?",
        ),
        "card_declined": (
            "Meine Karte wird beim Bezahlen immer abgelehnt.",
            "Die Zahlung über {amount} schlägt jedes Mal fehl.",
            "Meine Bank sagt, mit der Karte ist alles in Ordnung.",
        ),
        "password_reset": (
            "Ich habe mein Passwort vergessen.",
            "Die E-Mail zum Zurücksetzen des Passworts kommt nicht an.",
            "Der Link zum Zurücksetzen ist leider abgelaufen.",
        ),
        "account_locked": (
            "Mein Konto wurde gesperrt und ich kann mich nicht mehr anmelden.",
            "Nach mehreren Anmeldeversuchen ist mein Zugang blockiert.",
            "Bitte entsperren Sie mein Kundenkonto.",
        ),
        "change_address": (
            "Ich bin umgezogen und muss meine Adresse ändern.",
            "Können Sie die Lieferadresse für die Bestellung {order} noch ändern?",
            "Die Postleitzahl in meiner Bestellung ist falsch.",
        ),
        "cancel_subscription": (
            "Bitte kündigen Sie mein Abo zum nächstmöglichen Termin.",
            "Ich möchte meine Mitgliedschaft nicht verlängern.",
            "Wie kann ich mein Abonnement beenden?",
        ),
        "damaged_item": (
            "Der Artikel kam beschädigt bei mir an.",
            "Das Gerät war schon beim Auspacken kaputt.",
            "Die Verpackung war zerdrückt und der Inhalt zerbrochen.",
        ),
        "complaint": (
            "Ich bin mit Ihrem Kundenservice sehr unzufrieden.",
            "Ich warte seit Tagen auf eine Antwort.",
            "So einen schlechten Service habe ich noch nie erlebt.",
        ),
        "close_account": (
            "Bitte löschen Sie mein Konto und alle meine Daten.",
            "Ich möchte mein Kundenkonto dauerhaft schließen.",
            "Bitte bestätigen Sie mir die Löschung meines Kontos.",
        ),
        "_greetings": ("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,", "Hallo zusammen,"),
        "_closings": ("Vielen Dank.", "Mit freundlichen Grüßen", "Danke im Voraus!", "Viele Grüße"),
        "_extra": ("Bitte melden Sie sich schnell bei mir.", "Was kann ich jetzt tun?",
                   "Ich warte schon seit {days} Tagen auf eine Antwort.", "Das ist wirklich ärgerlich."),
        "_refs": ("Meine Kundennummer ist {order}.", "Bestellnummer: {order}", "Es geht um den Vorgang {order}."),
    },
    "fr": {
        "delivery_late": (
            "Ma commande {order} n'est toujours pas arrivée.",
            "Le colis devait arriver il y a {days} jours, où est-il ?",
            "Le suivi du colis n'a pas bougé depuis une semaine.",
        ),
        "refund_request": (
            "Je voudrais être remboursé pour la commande {order}.",
            "J'ai renvoyé l'article il y a {days} jours et je n'ai toujours pas reçu mon remboursement.",
            "Merci de me rembourser les {amount}.",
        ),
        "billing_error": (
            "J'ai été débité deux fois de {amount}.",
            "Le montant de ma facture est incorrect.",
            "Il y a un prélèvement sur mon compte que je ne reconnais pas.",
        ),
        "product_question": (
            "Est-ce que ce produit est garanti ?",
            "L'article sera-t-il bientôt de nouveau disponible ?",
            "Quelles sont les dimensions exactes du produit ?",
        ),
        "card_declined": (
            "Ma carte est refusée à chaque paiement.",
            "Le paiement de {amount} échoue à chaque fois.",
            "Ma banque dit que la carte fonctionne normalement.",
        ),
        "password_reset": (
            "J'ai oublié mon mot de passe.",
            "Je ne reçois pas l'e-mail de réinitialisation du mot de passe.",
            "Le lien de réinitialisation a expiré.",
        ),
        "account_locked": (
            "Mon compte est bloqué et je ne peux plus me connecter.",
            "Après plusieurs tentatives de connexion, mon accès a été suspendu.",
            "Pouvez-vous débloquer mon compte, s'il vous plaît ?",
        ),
        "change_address": (
            "J'ai déménagé et je dois changer mon adresse.",
            "Est-il possible de modifier l'adresse de livraison de la commande {order} ?",
            "Le code postal de ma commande est faux.",
        ),
        "cancel_subscription": (
            "Je souhaite résilier mon abonnement.",
            "Merci de ne pas renouveler mon abonnement le mois prochain.",
            "Comment puis-je annuler mon abonnement ?",
        ),
        "damaged_item": (
            "L'article est arrivé endommagé.",
            "L'appareil était cassé dès l'ouverture du colis.",
            "Le carton était écrasé et le contenu brisé.",
        ),
        "complaint": (
            "Je suis très mécontent de votre service client.",
            "J'attends une réponse depuis plusieurs jours.",
            "Je n'ai jamais vu un service aussi mauvais.",
        ),
        "close_account": (
            "Merci de supprimer mon compte et toutes mes données.",
            "Je veux fermer définitivement mon compte client.",
            "Pouvez-vous me confirmer la suppression de mon compte ?",
        ),
        "_greetings": ("Bonjour,", "Madame, Monsieur,", "Bonsoir,"),
        "_closings": ("Merci d'avance.", "Cordialement", "Bien à vous", "Merci beaucoup."),
        "_extra": ("Merci de me répondre rapidement.", "Que dois-je faire maintenant ?",
                   "J'attends une réponse depuis {days} jours.", "C'est vraiment pénible."),
        "_refs": ("Mon numéro client est {order}.", "Numéro de commande : {order}", "Référence du dossier : {order}."),
    },
    "es": {
        "delivery_late": (
            "Mi pedido {order} todavía no ha llegado.",
            "El paquete tenía que llegar hace {days} días, ¿dónde está?",
            "El seguimiento del envío no se ha actualizado desde hace una semana.",
        ),
        "refund_request": (
            "Quiero que me devuelvan el dinero del pedido {order}.",
            "Devolví el artículo hace {days} días y aún no he recibido el reembolso.",
            "Por favor, reembólsenme los {amount}.",
        ),
        "billing_error": (
            "Me han cobrado dos veces {amount}.",
            "El importe de mi factura no es correcto.",
            "Hay un cargo en mi cuenta que no reconozco.",
        ),
        "product_question": (
            "¿Este producto tiene garantía?",
            "¿Cuándo volverá a estar disponible el artículo?",
            "¿Cuáles son las medidas exactas del producto?",
        ),
        "card_declined": (
            "Mi tarjeta es rechazada cada vez que intento pagar.",
            "El pago de {amount} falla siempre.",
            "Mi banco dice que la tarjeta funciona bien.",
        ),
        "password_reset": (
            "He olvidado mi contraseña.",
            "No me llega el correo para restablecer la contraseña.",
            "El enlace para cambiar la contraseña ha caducado.",
        ),
        "account_locked": (
            "Mi cuenta está bloqueada y no puedo iniciar sesión.",
            "Después de varios intentos, me han bloqueado el acceso.",
            "¿Pueden desbloquear mi cuenta, por favor?",
        ),
        "change_address": (
            "Me he mudado y necesito cambiar mi dirección.",
            "¿Todavía se puede cambiar la dirección de entrega del pedido {order}?",
            "El código postal de mi pedido está mal.",
        ),
        "cancel_subscription": (
            "Quiero cancelar mi suscripción.",
            "Por favor, no renueven mi suscripción el próximo mes.",
            "¿Cómo puedo darme de baja de la suscripción?",
        ),
        "damaged_item": (
            "El artículo llegó dañado.",
            "El aparato ya estaba roto al abrir la caja.",
            "La caja llegó aplastada y el contenido roto.",
        ),
        "complaint": (
            "Estoy muy descontento con su atención al cliente.",
            "Llevo varios días esperando una respuesta.",
            "Nunca he recibido un servicio tan malo.",
        ),
        "close_account": (
            "Por favor, eliminen mi cuenta y todos mis datos.",
            "Quiero cerrar mi cuenta de forma definitiva.",
            "¿Pueden confirmarme que han borrado mi cuenta?",
        ),
        "_greetings": ("Hola,", "Buenos días,", "Estimados señores,"),
        "_closings": ("Gracias.", "Un saludo", "Muchas gracias de antemano.", "Saludos"),
        "_extra": ("Espero su respuesta pronto.", "¿Qué puedo hacer ahora?",
                   "Llevo {days} días esperando una respuesta.", "Es muy molesto."),
        "_refs": ("Mi número de cliente es {order}.", "Número de pedido: {order}", "Referencia del caso: {order}."),
    },
}

LANGUAGES: tuple[str, ...] = tuple(FOREIGN)


def compose_foreign(intent: str, language: str, rng: random.Random) -> str:
    """Write a short non-English ticket for ``intent`` in ``language`` ('de', 'fr' or 'es').

    Returns the text: greeting, one or two distinct core sentences, an optional extra
    sentence, an optional reference (customer or order number) and a closing, separated by
    spaces (or a newline before the closing).
    """
    table = FOREIGN[language]
    core = list(table[intent])
    rng.shuffle(core)
    parts = [rng.choice(table["_greetings"])] if rng.random() < 0.8 else []
    parts += [fill(s, rng, european=True) for s in core[: rng.choice((1, 2, 2))]]
    if rng.random() < 0.4:
        parts.append(fill(rng.choice(table["_extra"]), rng, european=True))
    if rng.random() < 0.35:
        parts.insert(len(parts) - 1 if len(parts) > 1 and rng.random() < 0.5 else len(parts),
                     fill(rng.choice(table["_refs"]), rng, european=True))
    body = " ".join(parts)
    sep = "\n" if rng.random() < 0.3 else " "
    return body + sep + rng.choice(table["_closings"])

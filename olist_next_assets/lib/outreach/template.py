"""The offline writer: a varied, personalised e-mail from the same context the LLM gets.

Deterministic (choices come from a hash of the customer and the context), within the
guardrails by construction, in English or Brazilian Portuguese. It is what the ``olist/template``
litellm provider returns, and what replaces an LLM answer that fails the guardrails twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

PHRASES: dict[str, dict[str, list[str]]] = {
    "en": {
        "greeting": ["Hello,", "Hi there,", "Hello from Olist,"],
        "subject_apologetic": ["We are sorry about your last order", "Your last order was not what we promised",
                               "Let us make your next order better"],
        "subject_referral": ["Thank you for your great reviews", "A thank-you for a valued customer",
                             "You made our sellers' day"],
        "subject_friendly": ["Something new in {category} for you", "We saved you a discount",
                             "It has been a while - here is {percent}% off"],
        "apologetic": ["Your feedback ({reason}) tells us we let you down, and we are sorry.",
                       "We know your last experience was not good ({reason}). We are sorry about that.",
                       "We read your feedback ({reason}) and we want to do better."],
        "quote": ["You told us: \"{quote}\".", "In your own words: \"{quote}\"."],
        "referral": ["Your reviews ({reason}) mean a lot to the sellers on Olist.",
                     "Thank you for your reviews ({reason}); they help other shoppers choose well."],
        "referral_ask": ["If you know someone who would enjoy shopping on Olist, we would love you to tell them.",
                         "If a friend is looking for {category}, we would be glad if you recommended us."],
        "friendly": ["Thank you for shopping with us {since}.", "We hope you are enjoying your purchase {since}."],
        "category": ["There is plenty that is new in {category}.", "Sellers in {category} have added new products.",
                     "We thought of you when new {category} items arrived."],
        "offer": ["Your personal code {code} gives you {discount}.", "Use your code {code} for {discount}.",
                  "With the code {code} you get {discount}."],
        "close": ["We hope to see you again soon.", "Thank you for being part of Olist.", "Happy shopping."],
        "bridge": [("Thousands of independent Brazilian sellers list their products with us, and we would love to "
                    "help you find your next one."),
                   "Whenever you are ready, the sellers on Olist are here for you.",
                   "Your opinion helps us choose what to show you next."],
        "signature": ["The Olist team"],
        "since_new": ["recently"],
        "since_old": ["over the past {months} months"],
        "category_default": ["our marketplace"],
    },
    "pt-BR": {
        "greeting": ["Olá,", "Oi,", "Olá, tudo bem?"],
        "subject_apologetic": ["Pedimos desculpas pelo seu último pedido", "Seu último pedido não foi como prometemos",
                               "Queremos fazer melhor no seu próximo pedido"],
        "subject_referral": ["Obrigado pelas suas ótimas avaliações", "Um agradecimento especial para você",
                             "Suas avaliações fazem a diferença"],
        "subject_friendly": ["Novidades em {category} para você", "Guardamos um desconto para você",
                             "Faz tempo que não nos vemos: {percent}% de desconto"],
        "apologetic": ["Sua avaliação ({reason}) mostra que falhamos com você, e pedimos desculpas.",
                       "Sabemos que sua última experiência não foi boa ({reason}). Sentimos muito.",
                       "Lemos sua avaliação ({reason}) e queremos melhorar."],
        "quote": ["Você nos disse: \"{quote}\".", "Nas suas palavras: \"{quote}\"."],
        "referral": ["Suas avaliações ({reason}) são muito importantes para os vendedores da Olist.",
                     "Obrigado pelas suas avaliações ({reason}); elas ajudam outros clientes a escolher bem."],
        "referral_ask": ["Se você conhece alguém que gostaria de comprar na Olist, adoraríamos que você indicasse.",
                         "Se um amigo procura {category}, ficaremos felizes com a sua indicação."],
        "friendly": ["Obrigado por comprar com a gente {since}.", "Esperamos que você esteja gostando da sua compra {since}."],
        "category": ["Há muitas novidades em {category}.", "Os vendedores de {category} trouxeram produtos novos.",
                     "Lembramos de você quando chegaram novidades em {category}."],
        "offer": ["Seu cupom pessoal {code} garante {discount}.", "Use o cupom {code} para ter {discount}.",
                  "Com o cupom {code} você tem {discount}."],
        "close": ["Esperamos ver você de novo em breve.", "Obrigado por fazer parte da Olist.", "Boas compras."],
        "bridge": [("Milhares de vendedores independentes de todo o Brasil vendem com a gente, e queremos ajudar você "
                    "a encontrar a sua próxima compra."),
                   "Quando você quiser, os vendedores da Olist estão aqui para você.",
                   "Sua opinião nos ajuda a escolher o que mostrar para você."],
        "signature": ["Equipe Olist"],
        "since_new": ["recentemente"],
        "since_old": ["nos últimos {months} meses"],
        "category_default": ["nosso marketplace"],
    },
}

REASONS_PT = {"last review": "última avaliação", "a review of": "uma avaliação de", "of 5": "de 5",
              "last delivery arrived late": "a última entrega atrasou", "average review": "média das avaliações",
              "no complaint on record": "sem reclamações"}


def _pick(options: list[str], seed: bytes, slot: str) -> str:
    digest = hashlib.sha256(seed + slot.encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _reason(reason: str, language: str) -> str:
    if language != "pt-BR":
        return reason
    for en, pt in REASONS_PT.items():
        reason = reason.replace(en, pt)
    return reason


def write(context: dict[str, Any], review: str) -> str:
    """'Subject: ...' + blank line + body, as an LLM is asked to answer."""
    language = context.get("language", "en")
    words = PHRASES[language]
    seed = f"{context['customer_ref']}|{context['coupon_code']}|{context['tone']}".encode()

    def pick(slot: str, **values: Any) -> str:
        return _pick(words[slot], seed, slot).format(**values)

    category = context.get("favourite_category") or pick("category_default")
    months = round((context.get("customer_since_days") or 0) / 30)
    since = pick("since_old", months=months) if months >= 3 else pick("since_new")
    percent = context["discount"].split("%")[0]
    reason = _reason(context.get("tone_reason", ""), language)
    tone = context["tone"]
    subject = pick(f"subject_{tone}", category=category, percent=percent)
    body = [pick("greeting")]
    if tone == "apologetic":
        opening = pick("apologetic", reason=reason)
        if review:
            opening += " " + pick("quote", quote=review[:160])
        body.append(opening)
    elif tone == "referral":
        body.append(pick("referral", reason=reason) + " " + pick("referral_ask", category=category))
    else:
        body.append(pick("friendly", since=since) + " " + pick("category", category=category))
    if tone != "apologetic" or not review:
        body[-1] += " " + pick("bridge")
    body.append(pick("offer", code=context["coupon_code"], discount=context["discount"]) + " " + pick("close"))
    body.append(pick("signature"))
    return f"Subject: {subject}\n\n" + "\n\n".join(body)

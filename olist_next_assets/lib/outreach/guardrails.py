"""Checks every e-mail passes before it is stored. Each failing rule gives a reason in words.

The rules read the text as a person would see it: after Unicode normalisation (NFKC: fullwidth
``１００％`` is ``100%``) and with invisible characters removed (a zero-width space inside
``1<zero-width space>00%`` hides nothing); invisible and direction-control characters are a failure of their own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from olist_next_assets.lib.outreach.coupons import CODE_PATTERN
from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds
from olist_next_assets.lib.outreach.prompt import EXAMPLE_CONTEXT, EXAMPLE_REVIEW, SYSTEM

LINK = re.compile(
    r"(?i:https?\s*:\s*//|hxxps?|www\.|ftp://|mailto:|javascript:|data:text)"  # schemes and www
    r"|@[\w-]+\.\w+"  # an e-mail address
    r"|\b[a-z0-9][a-z0-9-]*\.(?:[a-z0-9-]+\.)*[a-z]{2,24}(?=[/:?#]|\b)(?![.,]?\d)"  # a bare domain (lower case)
    r"|\b(?i:com|net|org|shop|xyz|io|br|ly)/\S"  # the path after a domain
    r"|\[\s*\.\s*\]|\(\s*\.\s*\)|\{\s*\.\s*\}"  # evil[.]com, evil(.)com
    r"|\b[\w-]+\s+(?i:dot|ponto)\s+(?i:com|net|org|br|shop|xyz|io)\b"  # evil dot com
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"  # an IP address
)
NOT_DOMAINS = {"e.g", "i.e", "a.m", "p.m"}
CODE_LIKE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]{2,})+\b|\b[A-Z]{2,}\d{2,}\b"
                       r"|\b[A-Z][A-Z0-9]{5,}\b")
CODE_AFTER_WORD = re.compile(
    r"(?i:\b(?:code|codes|coupon|cupom|cupons|c[oó]digo|voucher|promo(?:code)?)\b)\s*(?:(?i:is|é|:|=)\s*)?"
    r"[\"'“”‘’«»]?\s*([A-Za-z0-9][A-Za-z0-9-]{3,})")
NOT_CODES = {"OLIST", "PESSOAL", "PERSONAL"}
PERCENT = re.compile(r"(\S+)\s?(%|percent\b|per cent\b|por ?cento\b|porcento\b)", re.IGNORECASE)
MONEY = re.compile(r"(?i)(?:R\$|US\$|\$|€|£)\s?(\d[\d.,]*)|(\d[\d.,]*)\s?(?:reais|real|BRL|dollars|d[oó]lares)\b")
PLACEHOLDER = re.compile(r"\[[^\]]{1,40}\]|\{\{?[^}]{0,40}\}\}?|<\s*(name|nome|customer|cliente|first[ _]?name)\s*>",
                         re.IGNORECASE)
MARKUP = re.compile(r"(?i)<\s*/?\s*[a-z!?][^>]{0,200}>|<\s*(script|img|iframe|a|svg|style|body|html)\b"
                    r"|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-f]+);|\bon(?:error|load|click|mouseover)\s*=|```")
PROMISES = re.compile(
    r"(?i)\b(free shipping|frete gr[aá]tis|refunds?|reembolsos?|money back|dinheiro de volta|guarantee[ds]?|garantimos|"
    r"gifts?|brindes?|presente gr[aá]tis|cashback|double points|pontos em dobro|free products?|produto gr[aá]tis|"
    r"for free|free of charge|totally free|completely free|de gra[cç]a|gr[aá]tis|gratuit[oa]s?|"
    r"sem custo|no cost|on the house|por nossa conta|half[- ]price|half off|pela metade|metade do pre[cç]o|"
    r"buy one,? get one|leve \w+,? pague \w+|store credit|cr[eé]dito na loja|vale[- ]compras?|gift card|"
    r"cart[aã]o[- ]presente|free order|pedido gr[aá]tis)\b"
)
PERSONAL_DATA = re.compile(
    r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b"  # a CPF
    r"|(?:\+\d{1,3}[\s-]?)?\(?\b\d{2}\)?[\s-]?9?\d{4}[\s-]\d{4}\b"  # a phone number
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"  # a customer, order or seller id
)
INJECTION = re.compile(
    r"(?i)\b(ignore|disregard|forget|override|esque[cç]a|ignor[ea]|desconsider[ea])\b.{0,40}"
    r"\b(instructions?|instru[cç][oõ]es|rules|regras|prompt|guidelines|diretrizes)\b"
    r"|\b(system|developer|assistant|sistema|assistente)\s*(prompt|message|mensagem)?\s*[:\]>]"
    r"|\b(system prompt|prompt do sistema|my instructions|minhas instru[cç][oõ]es|your instructions"
    r"|suas instru[cç][oõ]es|developer mode|modo desenvolvedor|jailbreak|do anything now)\b"
)
ERROR_OR_REFUSAL = re.compile(
    r"(?i)^\W*(error|erro|exception|traceback)\b|\b(internal server error|rate limit|overloaded|stack trace"
    r"|as an ai( language model)?|i (?:can(?:no|')t|am unable to|won't) (?:help|assist|comply|do that)"
    r"|n[aã]o posso ajudar)\b")
NAMED_GREETING = re.compile(r"(?m)^(Dear|Hi|Hello|Olá|Oi|Prezad[oa]|Caro|Cara)\s+(?!there\b|from\b|tudo\b)([A-ZÀ-Ú][a-zà-ú]+)")
NEUTRAL_NAMES = {"Customer", "Cliente", "Friend", "Amigo", "Amiga", "Olist", "Shopper"}
ECHO_MARKERS = ["<context>", "</context>", "<review>", "</review>", "customer context (json)",
                "never reveal these instructions", "nunca revele estas instruções", "quoted as data",
                "customer_ref", "tone_reason", "favourite_category", "coupon_code", "total_spend_brl",
                "customer_since_days", "last_review_score", EXAMPLE_CONTEXT["customer_ref"], EXAMPLE_REVIEW]
EN_WORDS = {"the", "and", "you", "your", "we", "to", "for", "with", "our", "is", "of", "thank", "hello"}
PT_WORDS = {"você", "seu", "sua", "para", "com", "nós", "obrigado", "não", "uma", "de", "que", "olá", "equipe"}
OTHER_WORDS = {"le", "la", "les", "des", "vous", "votre", "nous", "est", "avec", "merci", "bonjour", "el", "los",
               "usted", "gracias", "hola", "und", "der", "die", "sie", "ihr", "danke", "il", "di", "grazie"}
SHINGLE = 6


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def invisible(text: str) -> list[str]:
    """Invisible or direction-control characters (zero-width spaces, bidi overrides...)."""
    return sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cf", "Co", "Cs")
                   or (unicodedata.category(c) == "Cc" and c not in "\n\t\r")})


def normalise(text: str) -> str:
    """What a reader sees: NFKC (fullwidth and compatibility forms folded), invisible characters removed."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Co", "Cs")
                   and (unicodedata.category(c) != "Cc" or c in "\n\t\r"))


def _language(text: str) -> tuple[str | None, int, int]:
    tokens = re.findall(r"[a-zà-ú]+", text.lower())
    en = sum(t in EN_WORDS for t in tokens)
    pt = sum(t in PT_WORDS for t in tokens)
    other = sum(t in OTHER_WORDS for t in tokens)
    if en == pt:
        return None, max(en, pt), other
    return ("en" if en > pt else "pt-BR"), max(en, pt), other


def _amount(text: str) -> float | None:
    text = text.rstrip(".,")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal == "," else ",", "").replace(decimal, ".")
    elif "," in text:
        whole, _, tail = text.rpartition(",")
        text = f"{whole.replace(',', '')}.{tail}" if len(tail) != 3 else text.replace(",", "")
    elif text.count(".") == 1 and len(text.rpartition(".")[2]) == 3:
        text = text.replace(".", "")  # 1.000 (thousands)
    try:
        return float(text)
    except ValueError:
        return None


def _links(text: str) -> list[str]:
    return [m.group(0) for m in LINK.finditer(text) if m.group(0).lower() not in NOT_DOMAINS]


def content_problems(text: str, own_code: str | None, policy: DiscountPolicy,
                     amounts: tuple[float, ...] = ()) -> list[str]:
    """The rules about what a text may carry (also used to decide whether a review may be quoted).
    ``amounts``: money amounts the text may mention (the customer's own spend, the policy's minimum)."""
    text = normalise(text)
    problems = []
    codes = set(CODE_PATTERN.findall(text)) | set(CODE_LIKE.findall(text))
    codes |= {c for c in CODE_AFTER_WORD.findall(text) if any(ch.isdigit() for ch in c) or c.isupper()}
    others = {c for c in codes if c != own_code and c not in NOT_CODES and not (own_code and c in own_code)}
    if others:
        problems.append(f"a coupon code other than the customer's own ({', '.join(sorted(others))})")
    percents = [(before, sign) for before, sign in PERCENT.findall(text)]
    wrong = [f"{before}{sign}" if sign == "%" else f"{before} {sign}" for before, sign in percents
             if re.sub(r"^\D*", "", before).rstrip(".,") != str(policy.percent)]
    if wrong:
        problems.append(f"a discount outside the policy ({', '.join(wrong)}; policy {policy.percent}%)")
    allowed = {round(a, 2) for a in (*amounts, policy.min_order_brl) if a}
    money = [m.group(0) for m in MONEY.finditer(text)
             if (value := _amount(m.group(1) or m.group(2))) is None
             or not any(abs(value - a) < 0.01 or abs(value - round(a)) < 0.01 for a in allowed)]
    if money:
        problems.append(f"a money amount outside the policy ({', '.join(money)})")
    links = _links(text)
    if links:
        problems.append(f"a link ({links[0]})")
    promise = PROMISES.search(text)
    if promise:
        problems.append(f"a promise outside the policy ({promise.group(0)})")
    markup = MARKUP.search(text)
    if markup:
        problems.append(f"markup or script ({markup.group(0)[:40]})")
    personal = PERSONAL_DATA.search(text)
    if personal:
        problems.append(f"personal data or an identifier ({personal.group(0)})")
    return problems


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


_PROMPT_SHINGLES: dict[str, set] = {}


def _prompt_shingles(system_prompts: dict[str, str]) -> set[tuple[str, ...]]:
    key = "\x00".join(system_prompts.values())
    if key not in _PROMPT_SHINGLES:
        _PROMPT_SHINGLES[key] = set().union(*(_shingles(p) for p in system_prompts.values()))
    return _PROMPT_SHINGLES[key]


def check(subject: str, body: str, context: dict[str, Any], policy: DiscountPolicy, bounds: LengthBounds,
          system_prompts: dict[str, str] = SYSTEM) -> Verdict:
    verdict = Verdict()
    raw = f"{subject}\n{body}"
    if not body.strip() or not subject.strip():
        verdict.reasons.append("empty subject or body")
        return verdict
    if len(body) < bounds.min_chars:
        verdict.reasons.append(f"too short ({len(body)} < {bounds.min_chars} characters)")
    if len(body) > bounds.max_chars:
        verdict.reasons.append(f"too long ({len(body)} > {bounds.max_chars} characters)")
    hidden = invisible(raw)
    if hidden:
        verdict.reasons.append(f"invisible or direction-control characters ({', '.join(hidden[:5])})")
    text, body_seen = normalise(raw), normalise(body)
    own = context["coupon_code"]
    if text.count(own) == 0:
        verdict.reasons.append("the customer's coupon code is missing")
    amounts = tuple(a for a in (context.get("total_spend_brl"),) if isinstance(a, int | float))
    category = context.get("favourite_category")  # catalogue data ("watches gifts"), not an offer
    plain = re.sub(re.escape(category), " ", text, flags=re.IGNORECASE) if category else text
    verdict.reasons.extend(content_problems(plain, own, policy, amounts))
    placeholder = PLACEHOLDER.search(text)
    if placeholder:
        verdict.reasons.append(f"a placeholder ({placeholder.group(0)})")
    named = NAMED_GREETING.search(body_seen)
    if named and named.group(2) not in NEUTRAL_NAMES:
        verdict.reasons.append(f"greets the customer by an invented name ({named.group(2)})")
    lowered = text.lower()
    echoed = [m for m in ECHO_MARKERS if m.lower() in lowered]
    for prompt in system_prompts.values():
        echoed += [s for s in re.split(r"(?<=[.:])\s+", prompt) if len(s) > 40 and s.lower() in lowered]
    if echoed or _shingles(text) & _prompt_shingles(system_prompts):
        verdict.reasons.append("prompt text echoed")
    injection = INJECTION.search(text)
    if injection:
        verdict.reasons.append(f"instructions aimed at a model ({injection.group(0)[:40]})")
    failure = ERROR_OR_REFUSAL.search(body_seen) or ERROR_OR_REFUSAL.search(normalise(subject))
    if failure:
        verdict.reasons.append(f"an error message or a refusal, not an e-mail ({failure.group(0)[:40]})")
    language, hits, other = _language(body_seen)
    if other >= 3 and other * 2 >= hits:
        verdict.reasons.append(f"wrong language (neither English nor Portuguese; expected {context['language']})")
    elif language is not None and language != context["language"]:
        verdict.reasons.append(f"wrong language ({language}, expected {context['language']})")
    return verdict


CODE_SYNTAX = re.compile(r"[{}\[\]=;`\\]|\b[a-z_]\w*\(|\b(script|onerror|onload|iframe|href|src)\b|\berror\s*:",
                         re.IGNORECASE)


def safe_to_quote(review: str, policy: DiscountPolicy) -> bool:
    """A review may be quoted in an e-mail only if it carries nothing the e-mail may not, nothing
    that reads as instructions to a model, an error message or code, and no invisible character."""
    seen = normalise(review)
    return (not content_problems(review, None, policy) and not PLACEHOLDER.search(seen)
            and not INJECTION.search(seen) and not ERROR_OR_REFUSAL.search(seen) and not CODE_SYNTAX.search(seen)
            and not invisible(review) and not any(m.lower() in seen.lower() for m in ECHO_MARKERS))

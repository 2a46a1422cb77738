"""Checks every e-mail passes before it is stored. Each failing rule gives a reason in words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from olist_next_assets.lib.outreach.coupons import CODE_PATTERN
from olist_next_assets.lib.outreach.policy import DiscountPolicy, LengthBounds
from olist_next_assets.lib.outreach.prompt import SYSTEM

LINK = re.compile(r"(?i)(https?://|www\.|\b[\w-]+\.(com|br|net|org|io|ly|me)\b|@[\w-]+\.\w+)")
CODE_LIKE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]{2,})+\b|\b[A-Z]{2,}\d{2,}\b")
PERCENT = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s?(%|por cento|percent)", re.IGNORECASE)
PLACEHOLDER = re.compile(r"\[[^\]]{1,40}\]|\{\{?[^}]{0,40}\}\}?|<\s*(name|nome|customer|cliente|first[ _]?name)\s*>",
                         re.IGNORECASE)
PROMISES = re.compile(
    r"(?i)\b(free shipping|frete gr[aá]tis|refund|reembolso|money back|dinheiro de volta|guarantee[ds]?|garantimos|"
    r"gift|brinde|presente gr[aá]tis|cashback|double points|pontos em dobro|free product|produto gr[aá]tis)\b"
)
NAMED_GREETING = re.compile(r"(?m)^(Dear|Hi|Hello|Olá|Oi|Prezad[oa]|Caro|Cara)\s+(?!there\b|from\b|tudo\b)([A-ZÀ-Ú][a-zà-ú]+)")
NEUTRAL_NAMES = {"Customer", "Cliente", "Friend", "Amigo", "Amiga", "Olist", "Shopper"}
ECHO_MARKERS = ["<context>", "</context>", "<review>", "customer context (json)", "never reveal these instructions",
                "nunca revele estas instruções"]
EN_WORDS = {"the", "and", "you", "your", "we", "to", "for", "with", "our", "is", "of", "thank", "hello"}
PT_WORDS = {"você", "seu", "sua", "para", "com", "nós", "obrigado", "não", "uma", "de", "que", "olá", "equipe"}


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons


def _language(text: str) -> str | None:
    tokens = re.findall(r"[a-zà-ú]+", text.lower())
    en = sum(t in EN_WORDS for t in tokens)
    pt = sum(t in PT_WORDS for t in tokens)
    if en == pt:
        return None
    return "en" if en > pt else "pt-BR"


def content_problems(text: str, own_code: str | None, policy: DiscountPolicy) -> list[str]:
    """The rules about what a text may carry (also used to decide whether a review may be quoted)."""
    problems = []
    codes = set(CODE_PATTERN.findall(text)) | set(CODE_LIKE.findall(text))
    others = {c for c in codes if c != own_code}
    if others:
        problems.append(f"a coupon code other than the customer's own ({', '.join(sorted(others))})")
    percents = {float(p.replace(",", ".")) for p, _ in PERCENT.findall(text)}
    if percents - {float(policy.percent)}:
        problems.append(f"a discount outside the policy ({', '.join(f'{p:g}%' for p in sorted(percents))}; "
                        f"policy {policy.percent}%)")
    if LINK.search(text):
        problems.append(f"a link ({LINK.search(text).group(0)})")
    promise = PROMISES.search(text)
    if promise:
        problems.append(f"a promise outside the policy ({promise.group(0)})")
    return problems


def check(subject: str, body: str, context: dict[str, Any], policy: DiscountPolicy, bounds: LengthBounds,
          system_prompts: dict[str, str] = SYSTEM) -> Verdict:
    verdict = Verdict()
    text = f"{subject}\n{body}"
    if not body.strip() or not subject.strip():
        verdict.reasons.append("empty subject or body")
        return verdict
    if len(body) < bounds.min_chars:
        verdict.reasons.append(f"too short ({len(body)} < {bounds.min_chars} characters)")
    if len(body) > bounds.max_chars:
        verdict.reasons.append(f"too long ({len(body)} > {bounds.max_chars} characters)")
    own = context["coupon_code"]
    if text.count(own) == 0:
        verdict.reasons.append("the customer's coupon code is missing")
    verdict.reasons.extend(content_problems(text, own, policy))
    placeholder = PLACEHOLDER.search(text)
    if placeholder:
        verdict.reasons.append(f"a placeholder ({placeholder.group(0)})")
    named = NAMED_GREETING.search(body)
    if named and named.group(2) not in NEUTRAL_NAMES:
        verdict.reasons.append(f"greets the customer by an invented name ({named.group(2)})")
    lowered = text.lower()
    echoed = [m for m in ECHO_MARKERS if m in lowered]
    for prompt in system_prompts.values():
        echoed += [s for s in re.split(r"(?<=[.:])\s+", prompt) if len(s) > 40 and s.lower() in lowered]
    if echoed:
        verdict.reasons.append("prompt text echoed")
    language = _language(body)
    if language is not None and language != context["language"]:
        verdict.reasons.append(f"wrong language ({language}, expected {context['language']})")
    return verdict


def safe_to_quote(review: str, policy: DiscountPolicy) -> bool:
    """A review may be quoted in an e-mail only if it carries nothing the e-mail may not."""
    return not content_problems(review, None, policy) and not PLACEHOLDER.search(review)

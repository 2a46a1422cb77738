"""What an e-mail may offer and how it may sound: the discount policy and the tone thresholds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiscountPolicy:
    percent: int = 10
    """The only discount an e-mail may mention."""
    valid_days: int = 30
    min_order_brl: float = 0.0

    def describe(self, language: str = "en") -> str:
        if language == "pt-BR":
            minimum = f" em pedidos a partir de R$ {self.min_order_brl:.2f}" if self.min_order_brl else ""
            return f"{self.percent}% de desconto{minimum}, válido por {self.valid_days} dias"
        minimum = f" on orders from R$ {self.min_order_brl:.2f}" if self.min_order_brl else ""
        return f"{self.percent}% off{minimum}, valid for {self.valid_days} days"


@dataclass(frozen=True)
class ToneRules:
    apologetic_max_score: float = 2.0
    """A last or lowest review at or below this is a bad experience: apologise."""
    apologize_if_late: bool = True
    referral_min_score: float = 4.5
    """An average of at least this over ``referral_min_reviews`` reviews: ask for a referral."""
    referral_min_reviews: int = 1


@dataclass(frozen=True)
class LengthBounds:
    min_chars: int = 200
    max_chars: int = 1400

"""Synthetic Olist release generator (9 CSV tables + planted repeat-purchase truth).

See docs/synthetic_data.md for the calibration, the planted signal and the truth side file.
"""

from .generator import GenerationReport, generate
from .truth import true_return_probability

__all__ = ["GenerationReport", "generate", "true_return_probability"]

"""Olist-Next: the Dagster code location (see ``definitions.py``)."""

import warnings

import dagster as dg

# We use beta APIs deliberately (single-run backfill policies) on
# pinned versions; their warnings would otherwise fill `dagster dev` output on every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

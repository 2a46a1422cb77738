"""Comparing what the two engines produced: exact for keys, counts, strings, dates and times,
within 1e-9 for floats (sums over a different order may differ in the last bits)."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

FLOAT_TOLERANCE = 1e-9


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order: sorted by every non-float column (a key in every table here)."""
    keys = [name for name, dtype in frame.schema.items() if not dtype.is_float()]
    return frame.sort(keys, nulls_last=True) if keys else frame


def assert_same(polars_frame: pl.DataFrame, spark_frame: pl.DataFrame, what: str) -> None:
    assert polars_frame.schema == spark_frame.schema, f"{what}: schemas differ"
    assert polars_frame.height == spark_frame.height, f"{what}: {polars_frame.height} vs {spark_frame.height} rows"
    assert_frame_equal(canonical(polars_frame), canonical(spark_frame), check_exact=False, abs_tol=FLOAT_TOLERANCE,
                       rel_tol=0.0)

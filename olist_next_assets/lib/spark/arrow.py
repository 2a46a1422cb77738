"""Arrow tables from polars, in the types Spark's Arrow UDFs expect."""

from __future__ import annotations

import polars as pl
import pyarrow as pa


def _plain(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind):
        return pa.binary()
    return kind


def for_spark(frame: pl.DataFrame) -> pa.Table:
    """``frame`` as Arrow with plain (32-bit offset) strings: polars writes large or view strings,
    which Spark's ``applyInArrow``/``mapInArrow`` refuse as a type mismatch."""
    table = frame.to_arrow()
    return table.cast(pa.schema([field.with_type(_plain(field.type)) for field in table.schema]))

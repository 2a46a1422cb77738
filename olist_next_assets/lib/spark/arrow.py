"""polars types and frames in the forms Spark expects (the types Delta stores for both engines)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from pyspark.sql import types as T

from olist_next_assets.lib.contracts import TIMESTAMP


def spark_type(dtype: pl.DataType) -> T.DataType:
    """The Spark type of a polars type: the one Delta stores for both."""
    if dtype == TIMESTAMP:
        return T.TimestampType()
    for polars_type, spark in ((pl.String, T.StringType()), (pl.Int32, T.IntegerType()), (pl.Int64, T.LongType()),
                               (pl.Float64, T.DoubleType()), (pl.Date, T.DateType())):
        if dtype == polars_type:
            return spark
    raise TypeError(f"no Spark type for {dtype}")


def spark_schema(schema: pl.Schema) -> T.StructType:
    """The Spark schema of a polars schema."""
    return T.StructType([T.StructField(name, spark_type(dtype)) for name, dtype in schema.items()])


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

"""Batch scoring on Spark: each week's snapshot is one group, scored by :func:`lib.churn.scoring.score`.

The specification is the polars function itself (probability, risk band by rank within the week,
worded reasons): Spark shuffles the snapshot by week and runs it on Arrow batches
(``groupBy(week).applyInArrow``), with each week's model shipped to the executors in the closure.
A week is one task, so a week's customers must fit one executor (about 100 MB per million rows).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from olist_next_assets.lib.churn.scoring import SCORE_SCHEMA
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.spark.arrow import for_spark, spark_schema


def score_weeks(snapshot: DataFrame, models: dict[dt.date, tuple[object, int, str]], *,
                high_share: float = 0.2, low_share: float = 0.4) -> DataFrame:
    """Every customer of the weeks in ``models`` (week -> (model, version, run id)), scored."""
    from olist_next_assets.lib.churn.scoring import score

    weeks = sorted(models)

    def score_week(table: pa.Table) -> pa.Table:
        frame = pl.from_arrow(table)
        week = frame[WEEK_COLUMN][0]
        model, version, run_id = models[week]
        return for_spark(score(frame, model, version, run_id, high_share=high_share, low_share=low_share))

    return (snapshot.where(F.col(WEEK_COLUMN).isin(weeks))
            .groupBy(WEEK_COLUMN).applyInArrow(score_week, spark_schema(SCORE_SCHEMA)))

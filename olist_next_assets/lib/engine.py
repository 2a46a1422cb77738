"""Which engine computes a transform: polars (one machine, the default) or Spark (a cluster).

Heavy assets declare their inputs as :data:`LakeFrame`. The lake's IO manager loads a LakeFrame as
a lazy polars scan or, when its engine is ``spark``, as a Spark DataFrame over the same Delta
table; an asset then picks the implementation by the kind of frame it was given
(:func:`is_spark`) and returns a frame of the same kind, which the IO manager writes back with
the same replace-where semantics. Inputs typed ``pl.LazyFrame``/``pl.DataFrame`` (model
training, e-mails) stay polars whatever the engine.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler
from dagster_deltalake.io_manager import DeltaLakeDbClient
from pydantic import Field, PrivateAttr

from olist_next_assets.lib.delta_io import WeeklyDeltaPolarsIOManager

ENGINES = ("polars", "spark")


def is_spark(frame: Any) -> bool:
    """A Spark DataFrame (classic or Spark Connect), without importing pyspark."""
    return any(cls.__module__.startswith("pyspark.") and cls.__name__ == "DataFrame" for cls in type(frame).__mro__)


def _check_lake_frame(_context, value: Any) -> bool:
    return isinstance(value, (pl.LazyFrame, pl.DataFrame)) or is_spark(value)


LakeFrame = dg.DagsterType(
    name="LakeFrame",
    type_check_fn=_check_lake_frame,
    typing_type=pl.LazyFrame,  # what the polars engine loads; the spark engine loads a Spark DataFrame
    description="A Delta table slice: a lazy polars frame, or a Spark DataFrame when the engine is spark.",
)


class SparkResource(dg.ConfigurableResource):
    """The Spark session of the ``spark`` engine, created lazily by dagster-pyspark's
    ``LazyPySparkResource`` (nothing starts unless a step needs Spark; one session, hence one
    JVM, per run process).

    ``master``: ``local[*]`` (default), a cluster master (``spark://host:7077``, ``yarn``,
    ``k8s://...``) or a Spark Connect URL (``sc://host:15002``). ``delta_jars``: ``auto`` (find or
    fetch them, see :mod:`olist_next_assets.lib.spark.session`) or ``cluster`` (the cluster ships Delta).
    """

    master: str = "local[*]"
    spark_config: dict[str, str] = Field(default_factory=dict)
    """Any Spark setting (executor memory, shuffle partitions...), over the defaults."""
    delta_jars: str = "auto"

    _lazy: Any = PrivateAttr(default=None)

    def session(self):
        """The session, created on first use (the Delta jars are resolved once, then)."""
        if self._lazy is None:
            from dagster_pyspark import LazyPySparkResource

            from olist_next_assets.lib.spark.session import quiet, spark_config

            self._lazy = LazyPySparkResource(
                spark_config=spark_config(self.master, self.spark_config, self.delta_jars))
            quiet(self._lazy.spark_session)
        return self._lazy.spark_session


class ComputeEngine(dg.ConfigurableResource):
    """The engine setting (``OLIST_ENGINE``): ``polars`` (default) or ``spark``, with Spark's session."""

    name: str = "polars"
    spark: SparkResource

    @property
    def is_spark(self) -> bool:
        if self.name not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.name!r}.")
        return self.name == "spark"


class EngineDbIOManager(DbIOManager):
    """DbIOManager that loads :data:`LakeFrame` inputs with the Spark handler when one is given."""

    def __init__(self, *, spark_handler: DbTypeHandler | None, **kwargs: Any):
        super().__init__(**kwargs)
        self._spark_handler = spark_handler

    def load_input(self, context: dg.InputContext) -> object:
        if self._spark_handler is not None and context.dagster_type.key == LakeFrame.key:
            table_slice = self._get_table_slice(context, context.upstream_output)
            with self._db_client.connect(context, table_slice) as connection:
                return self._spark_handler.load_input(context, table_slice, connection)
        return super().load_input(context)


class LakeIOManager(WeeklyDeltaPolarsIOManager):
    """The lake's Delta IO manager: polars frames always, Spark frames when the engine is ``spark``."""

    compute: ComputeEngine

    def create_io_manager(self, context) -> DbIOManager:
        handlers = list(self.type_handlers())
        spark_handler = None
        if self.compute.is_spark:
            from olist_next_assets.lib.spark.delta_io import WeeklyDeltaSparkTypeHandler

            spark_handler = WeeklyDeltaSparkTypeHandler(self.compute.spark.session)
            handlers.append(spark_handler)
        return EngineDbIOManager(
            spark_handler=spark_handler,
            db_client=DeltaLakeDbClient(),
            database="deltalake",
            schema=self.schema_,
            type_handlers=handlers,
            default_load_type=self.default_load_type(),
            io_manager_name="LakeIOManager",
        )

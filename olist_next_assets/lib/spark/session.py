"""A Spark session that reads and writes the lake's Delta tables.

Delta Lake's Spark integration is two jars (``delta-spark`` and ``delta-storage``) matching the
Spark version. :func:`delta_jars` finds them in this order, so that no step depends on Spark's own
package download (Ivy), which cannot reach Maven Central from every network:

1. ``OLIST_SPARK_JARS``: a comma-separated list of jar paths (an air-gapped machine);
2. the local Maven repository (``~/.m2``), filled once by ``mvn dependency:get`` when ``mvn`` is
   on the PATH (the automated step; ``olist-next spark-jars`` runs it ahead of time);
3. otherwise ``spark.jars.packages`` through delta-spark's ``configure_spark_with_delta_pip``.

On a cluster whose runtime ships Delta (Databricks, EMR, Dataproc with Delta), set
``delta_jars="cluster"`` and nothing is added.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SPARK_VERSION = "4.0.1"
DELTA_VERSION = "4.0.1"
SCALA_BINARY = "2.13"
DELTA_ARTIFACTS = (
    ("io.delta", f"delta-spark_{SCALA_BINARY}", DELTA_VERSION),
    ("io.delta", "delta-storage", DELTA_VERSION),
)

BASE_CONFIG: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.session.timeZone": "UTC",  # weeks and cutoffs are UTC, as in polars
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",  # local default; a cluster sets its own
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.ansi.enabled": "true",
    "spark.driver.memory": "4g",
}


def maven_repository() -> Path:
    return Path(os.environ.get("MAVEN_REPOSITORY") or Path.home() / ".m2" / "repository")


def _jar_path(group: str, artifact: str, version: str) -> Path:
    return maven_repository().joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.jar")


def fetch_delta_jars() -> list[Path]:
    """Download the Delta jars into the local Maven repository with ``mvn`` (idempotent)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn is not on the PATH: install Maven, or set OLIST_SPARK_JARS to the Delta jars.")
    for group, artifact, version in DELTA_ARTIFACTS:
        if not _jar_path(group, artifact, version).is_file():
            subprocess.run(
                [mvn, "-q", "-B", "dependency:get", f"-Dartifact={group}:{artifact}:{version}", "-Dtransitive=false"],
                check=True,
            )
    return [_jar_path(*a) for a in DELTA_ARTIFACTS]


def delta_jars() -> list[Path] | None:
    """Paths of the Delta jars (see module docstring); None means: let Spark download them."""
    explicit = os.environ.get("OLIST_SPARK_JARS")
    if explicit:
        return [Path(p) for p in explicit.split(",") if p]
    if all(_jar_path(*a).is_file() for a in DELTA_ARTIFACTS):
        return [_jar_path(*a) for a in DELTA_ARTIFACTS]
    if shutil.which("mvn"):
        return fetch_delta_jars()
    return None


def spark_config(master: str = "local[*]", extra: dict[str, Any] | None = None, delta: str = "auto") -> dict[str, Any]:
    """The session config: Delta extensions, UTC, our defaults, then ``extra`` (wins).

    ``master`` may be ``local[*]``, a cluster master (``spark://``, ``yarn``, ``k8s://``) or a
    Spark Connect URL (``sc://host:15002``).
    """
    config: dict[str, Any] = dict(BASE_CONFIG)
    if master.startswith("sc://"):
        config = {k: v for k, v in config.items() if k.startswith("spark.sql.")}
        config["spark.remote"] = master
    else:
        config["spark.master"] = master
    if master.startswith("local"):
        # Python workers must run this interpreter (polars, pyarrow, the scorers), not the PATH's
        # python3; PySpark reads PYSPARK_PYTHON when the context starts (it ignores the conf key here)
        config["spark.pyspark.python"] = sys.executable
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if delta == "auto" and not master.startswith("sc://"):
        jars = delta_jars()
        if jars is not None:
            config["spark.jars"] = ",".join(str(p) for p in jars)
        else:
            config["spark.jars.packages"] = ",".join(":".join(a) for a in DELTA_ARTIFACTS)
    config.update(extra or {})
    return config


def get_session(config: dict[str, Any]):
    """``SparkSession.builder`` with ``config`` (one session, hence one JVM, per process)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("olist-next")
    for key, value in config.items():
        builder = builder.config(key, value)
    return quiet(builder.getOrCreate())


def quiet(session):
    """Spark's own log at ERROR (its WARN lines would drown the run's log); not for Spark Connect."""
    if not type(session).__module__.startswith("pyspark.sql.connect"):  # Connect has no SparkContext
        session.sparkContext.setLogLevel("ERROR")
    return session

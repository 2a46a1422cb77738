"""The Spark session settings: Delta on, UTC, the project's interpreter, masters and Spark Connect."""

from __future__ import annotations

import sys
from pathlib import Path

from olist_next_assets.lib.spark.session import DELTA_ARTIFACTS, delta_jars, spark_config


def test_local_sessions_get_delta_jars_utc_and_this_interpreter():
    config = spark_config("local[2]")
    assert config["spark.master"] == "local[2]"
    assert config["spark.sql.session.timeZone"] == "UTC"
    assert config["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert config["spark.pyspark.python"] == sys.executable
    jars = config["spark.jars"].split(",")
    assert [Path(j).name for j in jars] == [f"{a}-{v}.jar" for _, a, v in DELTA_ARTIFACTS]
    assert all(Path(j).is_file() for j in jars)  # fetched by mvn into ~/.m2 when missing


def test_explicit_jars_cluster_delta_spark_connect_and_overrides(monkeypatch, tmp_path):
    jar = tmp_path / "delta.jar"
    monkeypatch.setenv("OLIST_SPARK_JARS", str(jar))
    assert delta_jars() == [jar]
    cluster = spark_config("spark://master:7077", {"spark.executor.memory": "8g"}, delta="cluster")
    assert cluster["spark.master"] == "spark://master:7077" and "spark.jars" not in cluster
    assert cluster["spark.executor.memory"] == "8g" and "spark.pyspark.python" not in cluster
    connect = spark_config("sc://spark.internal:15002")
    assert connect["spark.remote"] == "sc://spark.internal:15002"
    assert "spark.master" not in connect and "spark.jars" not in connect  # the server brings Delta


def test_the_session_reads_and_writes_delta_in_utc(spark, tmp_path):
    import datetime as dt

    import polars as pl

    written = pl.DataFrame({"week": [dt.date(2018, 1, 1)], "at": [dt.datetime(2018, 1, 7, 23, 30, tzinfo=dt.UTC)]})
    written.write_delta(str(tmp_path / "t"))
    frame = spark.read.format("delta").load(str(tmp_path / "t"))
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert frame.selectExpr("cast(to_date(at) as string) as d").first()["d"] == "2018-01-07"
    frame.write.format("delta").mode("append").save(str(tmp_path / "t"))
    assert pl.read_delta(str(tmp_path / "t")).equals(pl.concat([written, written]))

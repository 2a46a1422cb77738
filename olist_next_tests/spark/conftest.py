"""One local Spark session (one JVM) for every Spark test of the run."""

import pytest

pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra")


@pytest.fixture(scope="session")
def spark():
    from olist_next_assets.lib.spark.session import get_session, spark_config

    session = get_session(spark_config("local[2]", {"spark.driver.memory": "2g"}))
    yield session
    session.stop()


def pytest_collection_modifyitems(items):
    for item in items:
        if "olist_next_tests/spark" in str(item.fspath):
            item.add_marker(pytest.mark.spark)

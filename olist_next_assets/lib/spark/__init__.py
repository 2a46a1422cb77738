"""The Spark engine: the heavy transforms of bronze, silver, gold and scoring as Spark plans.

Each module mirrors a polars module of :mod:`olist_next_assets.lib` (the specification, stated
and tested there); the parity tests run both on the same data and require identical results.
Only imported when the engine is ``spark`` (pyspark is an optional extra).
"""

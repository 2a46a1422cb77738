"""The one time axis of the project: weeks starting Monday 00:00 UTC.

The window defaults to the public Olist release (first order 2016-09-04, a Sunday, so the first
week starts Monday 2016-08-29; last order 2018-10-17). ``OLIST_FIRST_WEEK`` / ``OLIST_END_WEEK``
move it (``OLIST_END_WEEK=open`` keeps adding a partition every week, for live data).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

FIRST_WEEK = os.environ.get("OLIST_FIRST_WEEK", "2016-08-29")
END_WEEK = os.environ.get("OLIST_END_WEEK", "2018-10-22")

weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_WEEK,
    end_date=None if END_WEEK == "open" else END_WEEK,
    day_offset=1,  # Monday; Dagster's default week starts on Sunday
    timezone="UTC",
)


def partition_bounds() -> tuple[dt.date, dt.date]:
    """``[first week, end)`` covered by the weekly partitions right now."""
    first = weekly_partitions.get_first_partition_window()
    last = weekly_partitions.get_last_partition_window()
    if first is None or last is None:
        raise ValueError("The weekly partitions are empty: check OLIST_FIRST_WEEK / OLIST_END_WEEK.")
    return first.start.date(), last.end.date()

"""Bronze check functions called directly."""

import polars as pl

from olist_next_assets.defs.bronze import checks
from olist_next_assets.lib.contracts import ORDER_ITEMS


def test_primary_key_check_fails_on_a_repeated_key_and_shows_it():
    written = pl.DataFrame({"order_id": ["o1", "o1", "o2"], "order_item_id": [1, 1, 1]})
    result = checks.primary_key_unique(ORDER_ITEMS, written)
    assert not result.passed
    assert result.metadata["duplicate_rows"].value == 2
    assert {"order_id": "o1", "order_item_id": 1} in result.metadata["sample"].value
    assert checks.primary_key_unique(ORDER_ITEMS, written.unique()).passed

from __future__ import annotations

import pytest

from olist_next_assets.lib.churn.tracking import Tracker


@pytest.fixture
def tracker(tmp_path) -> Tracker:
    """A real MLflow tracking store and registry (SQLite) in a temporary folder."""
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "test", "olist_next_churn", str(tmp_path / "artifacts"))

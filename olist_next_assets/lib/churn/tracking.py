"""MLflow: tracking runs, the ``olist_next_churn`` registry and its ``champion`` alias.

A thin wrapper over ``MlflowClient`` (dagster-mlflow ends runs early and is job-centric; we need
one MLflow run per trained model, several per Dagster run). Every call names the tracking URI
explicitly: MLflow otherwise falls back to ``./mlflow.db`` in whatever directory it runs in.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from olist_next_assets.lib.churn.training import ChurnModel

CHAMPION = "champion"
ENCODER_FILE = "feature_encoding.json"


@dataclass(frozen=True)
class Champion:
    version: int
    week: str
    roc_auc: float


class Tracker:
    def __init__(self, tracking_uri: str, experiment: str, model_name: str, artifact_root: str | None = None):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.model_name = model_name
        self.artifact_root = artifact_root
        self._models: dict[int, ChurnModel] = {}

    @cached_property
    def client(self):
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # offline by default: no usage pings
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    @cached_property
    def experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = Path(self.artifact_root).resolve().as_uri() if self.artifact_root else None
        return self.client.create_experiment(self.experiment, artifact_location=location)

    def run_url(self, ui_url: str, run_id: str) -> str:
        return f"{ui_url.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{run_id}"

    def start_run(self, name: str, tags: dict[str, str]) -> str:
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def log(self, run_id: str, *, params: dict[str, Any] | None = None, metrics: dict[str, float] | None = None,
            tags: dict[str, str] | None = None) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(__import__("time").time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items() if v is not None and np.isfinite(v)],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )

    def log_figures(self, run_id: str, figures: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        for name, figure in figures.items():
            self.client.log_figure(run_id, figure, f"plots/{name}.png")
            plt.close(figure)

    def log_text(self, run_id: str, text: str, path: str) -> None:
        self.client.log_text(run_id, text, path)

    def find_text(self, tags: dict[str, str], path: str) -> str | None:
        """The text artifact ``path`` of the latest run with these tags, if any."""
        query = " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items())
        runs = self.client.search_runs([self.experiment_id], filter_string=query, max_results=1,
                                       order_by=["attributes.start_time DESC"])
        if not runs:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            return Path(self.client.download_artifacts(runs[0].info.run_id, path, tmp)).read_text()

    def log_table(self, run_id: str, frame: pl.DataFrame, path: str) -> None:
        self.client.log_text(run_id, frame.write_csv(), path)

    def log_model(self, run_id: str, model: ChurnModel, example: pl.DataFrame, tags: dict[str, str]) -> int:
        """Log the booster with signature and input example, register it; returns the version."""
        import mlflow
        import mlflow.xgboost
        from mlflow.models import infer_signature

        self.client.log_text(run_id, model.encoder.to_json(), ENCODER_FILE)
        x = pl.DataFrame(model.encoder.matrix(example), schema=list(model.encoder.features), orient="row").to_pandas()
        signature = infer_signature(x, model.booster.predict(model.dmatrix(example)))
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
            info = mlflow.xgboost.log_model(model.booster, name="model", signature=signature, input_example=x,
                                            pip_requirements=_requirements())
        self._ensure_registered_model()
        version = self.client.create_model_version(self.model_name, info.model_uri, run_id=run_id, tags=tags)
        return int(version.version)

    def _ensure_registered_model(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException:
            self.client.create_registered_model(
                self.model_name, description="Olist-Next churn model (XGBoost). Alias `champion` = the model in use."
            )

    def champion(self) -> Champion | None:
        from mlflow.exceptions import MlflowException

        try:
            version = self.client.get_model_version_by_alias(self.model_name, CHAMPION)
        except MlflowException:
            return None
        return Champion(int(version.version), version.tags.get("week", ""), float(version.tags.get("roc_auc", "nan")))

    def set_champion(self, version: int) -> None:
        self.client.set_registered_model_alias(self.model_name, CHAMPION, str(version))

    def tag_version(self, version: int, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, str(version), key, value)

    def load(self, version: int) -> ChurnModel:
        """The registered booster and its encoder (cached per version)."""
        if version not in self._models:
            import xgboost as xgb

            from olist_next_assets.lib.churn.features import FeatureEncoder
            from olist_next_assets.lib.churn.training import ChurnModel

            model_version = self.client.get_model_version(self.model_name, str(version))
            with tempfile.TemporaryDirectory() as tmp:
                path = self.client.download_artifacts(model_version.run_id, ENCODER_FILE, tmp)
                encoder = FeatureEncoder.from_json(Path(path).read_text())
            booster = _load_booster(self, model_version)
            assert isinstance(booster, xgb.Booster)
            self._models[version] = ChurnModel(booster, encoder, json.loads(model_version.tags.get("params", "{}")))
        return self._models[version]


def _requirements() -> list[str]:
    """Pinned serving requirements, stated rather than inferred: MLflow's inference starts a
    subprocess that re-imports the model (6.5 s per logged model here)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for names in (("xgboost", "xgboost-cpu"), ("mlflow",), ("numpy",), ("pandas",)):
        for name in names:
            try:
                pins.append(f"{name}=={version(name)}")
                break
            except PackageNotFoundError:
                continue
    return pins


def _load_booster(tracker: Tracker, model_version: Any):
    """The booster behind a registry version (MLflow's xgboost flavor, local or remote store)."""
    import mlflow
    import mlflow.xgboost

    mlflow.set_tracking_uri(tracker.tracking_uri)
    mlflow.set_registry_uri(tracker.tracking_uri)
    return mlflow.xgboost.load_model(f"models:/{tracker.model_name}/{model_version.version}")

"""Resources per environment, chosen in one place (``OLIST_ENV``: ``dev`` by default, ``prod``).

dev runs offline under ``$DAGSTER_HOME`` (``dagster_home/`` in the repository): lake in
``lake/``, landing zone in ``landing/``, MLflow store in ``mlflow/`` (``OLIST_MLFLOW_URI``
points it at a shared server). prod takes every location from the environment through
``dg.EnvVar`` and refuses to start when one is missing.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import PrivateAttr

from olist_next_assets.lib.churn.tracking import Tracker
from olist_next_assets.lib.contracts import WEEK_COLUMN
from olist_next_assets.lib.delta_io import window_filter
from olist_next_assets.lib.engine import ComputeEngine, LakeIOManager, SparkResource

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_IN_PROD = ("OLIST_LAKE_ROOT", "OLIST_LANDING_DIR", "OLIST_MLFLOW_URI", "OLIST_COUPON_SECRET")


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / "dagster_home").resolve()


class LakeResource(dg.ConfigurableResource):
    """Where the Delta tables live; assets use it to read back what their IO manager wrote."""

    root: str

    def uri(self, key: dg.AssetKey) -> str:
        return f"{self.root.rstrip('/')}/{'/'.join(key.path)}"

    def scan(self, key: dg.AssetKey) -> pl.LazyFrame | None:
        """The table as a lazy frame, or None when it has never been written."""
        uri = self.uri(key)
        if not uri.startswith(("s3://", "gs://", "az://", "abfss://")) and not (Path(uri) / "_delta_log").exists():
            return None
        return pl.scan_delta(uri)

    def version(self, key: dg.AssetKey) -> int | None:
        """The Delta table version (what a model records as the data version it read)."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            return DeltaTable(self.uri(key)).version()
        except TableNotFoundError:
            return None

    def read(self, key: dg.AssetKey, weeks: tuple[dt.date, dt.date] | None = None) -> pl.DataFrame:
        """The rows of ``[start, end)`` weeks (all rows when None); empty if never written."""
        frame = self.scan(key)
        if frame is None:
            return pl.DataFrame()
        if weeks is not None:
            frame = frame.filter(window_filter(WEEK_COLUMN, *weeks))
        return frame.collect()


class MLflowResource(dg.ConfigurableResource):
    """The MLflow tracking store and model registry (local SQLite by default, any server in prod)."""

    tracking_uri: str
    artifact_root: str | None = None
    experiment: str = "olist_next_churn"
    model_name: str = "olist_next_churn"
    ui_url: str = "http://127.0.0.1:5000"
    """Where people open the MLflow UI; used for the run links in Dagster metadata."""

    _tracker: Tracker | None = PrivateAttr(default=None)

    def tracker(self) -> Tracker:
        if self._tracker is None:
            self._tracker = Tracker(self.tracking_uri, self.experiment, self.model_name, self.artifact_root)
        return self._tracker

    def run_url(self, run_id: str) -> str:
        return self.tracker().run_url(self.ui_url, run_id)


class LLMResource(dg.ConfigurableResource):
    """The e-mail writer's model, through litellm: ``olist/template`` (offline default),
    ``olist/gguf`` (a local GGUF file), ``ollama/llama3.1``, ``openai/...``, ``databricks/...``, or any
    OpenAI-compatible server on ``api_base``. The key is read from the environment only."""

    model: str = "olist/template"
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.7
    concurrency: int = 32
    timeout_seconds: float = 60.0
    num_retries: int = 3
    backoff_seconds: float = 0.5
    """First retry wait when the provider gives no Retry-After (doubles, with jitter)."""
    backoff_max_seconds: float = 8.0
    max_retry_after_seconds: float = 60.0
    retry_budget: float = 1.0
    """Retries the whole batch may spend per e-mail (at least 20 in all)."""
    breaker_failures: int = 20
    """After this many e-mails in a row fail, stop calling; a rerun writes the rest."""
    max_total_tokens: int = 30_000_000
    """Per run: no new call once the run has used this many tokens (rows left for review)."""
    max_cost_usd: float = 20.0
    cache_dir: str | None = None
    """Completions cached on disk (keyed by prompt, model and parameters); None disables it."""

    def settings(self):
        from olist_next_assets.lib.outreach.writer import LLMSettings

        return LLMSettings(**self.model_dump())  # the same fields, checked by the writer's dataclass


class CouponSigner(dg.ConfigurableResource):
    """The secret that derives and verifies coupon codes (``OLIST_COUPON_SECRET``)."""

    secret: str

    def code(self, customer: str, campaign: str) -> str:
        from olist_next_assets.lib.outreach.coupons import coupon_code

        return coupon_code(customer, campaign, self.secret)


class LandingZone(dg.ConfigurableResource):
    """Where the nine Olist CSV exports arrive: the root, or dated drops under ``drops/`` (each
    table is read from the latest complete drop that has it; see :mod:`olist_next_assets.lib.landing`)."""

    root: str

    def path(self, source_file: str) -> Path:
        from olist_next_assets.lib.landing import resolve

        path = resolve(Path(self.root), source_file)
        if not path.is_file():
            raise dg.Failure(
                description=f"{source_file} is not in the landing zone {self.root}.",
                metadata={
                    "fix": "Run `olist-next generate --out <landing>` or drop the Kaggle CSVs there."
                },
            )
        return path


def _require_prod_settings() -> None:
    missing = [name for name in REQUIRED_IN_PROD if not os.environ.get(name)]
    if missing:
        raise RuntimeError(
            f"OLIST_ENV=prod needs {', '.join(missing)} in the environment; "
            "dev defaults are never used in prod."
        )


def compute_engine() -> ComputeEngine:
    """``OLIST_ENGINE`` (polars | spark) and, for Spark, ``OLIST_SPARK_MASTER`` (default ``local[*]``:
    a cluster master or a Spark Connect ``sc://`` URL) and ``OLIST_SPARK_DELTA_JARS`` (auto | cluster)."""
    return ComputeEngine(
        name=os.environ.get("OLIST_ENGINE", "polars"),
        spark=SparkResource(master=os.environ.get("OLIST_SPARK_MASTER", "local[*]"),
                            delta_jars=os.environ.get("OLIST_SPARK_DELTA_JARS", "auto")),
    )


def resources_for_env(env: str | None = None) -> dict[str, object]:
    env = env or os.environ.get("OLIST_ENV", "dev")
    if env == "prod":
        _require_prod_settings()
        lake_root, landing_root = dg.EnvVar("OLIST_LAKE_ROOT"), dg.EnvVar("OLIST_LANDING_DIR")
        mlflow = MLflowResource(tracking_uri=dg.EnvVar("OLIST_MLFLOW_URI"),
                                ui_url=os.environ.get("OLIST_MLFLOW_UI_URL", "http://127.0.0.1:5000"))
        coupons = CouponSigner(secret=dg.EnvVar("OLIST_COUPON_SECRET"))
        llm_cache = os.environ.get("OLIST_LLM_CACHE_DIR")
    elif env == "dev":
        home = dagster_home()
        lake_root = os.environ.get("OLIST_LAKE_ROOT", str(home / "lake"))
        landing_root = os.environ.get("OLIST_LANDING_DIR", str(home / "landing"))
        mlflow = MLflowResource(
            tracking_uri=os.environ.get("OLIST_MLFLOW_URI", f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"),
            artifact_root=str(home / "mlflow" / "artifacts"),
        )
        (home / "mlflow").mkdir(parents=True, exist_ok=True)
        from olist_next_assets.lib.outreach.coupons import DEV_SECRET

        # an EnvVar, not the value: Dagster stores resource values as config defaults in every run's
        # job snapshot (run storage, the UI's launchpad); the dev default is public anyway
        coupons = CouponSigner(secret=dg.EnvVar("OLIST_COUPON_SECRET") if os.environ.get("OLIST_COUPON_SECRET")
                               else DEV_SECRET)
        llm_cache = os.environ.get("OLIST_LLM_CACHE_DIR", str(home / "llm_cache"))
    else:
        raise ValueError(f"OLIST_ENV must be 'dev' or 'prod', not {env!r}.")
    compute = compute_engine()
    return {
        "delta_io_manager": LakeIOManager(root_uri=lake_root, storage_options={"local": {}}, compute=compute),
        "compute": compute,
        "lake": LakeResource(root=lake_root),
        "landing": LandingZone(root=landing_root),
        "mlflow": mlflow,
        "llm": LLMResource(
            model=os.environ.get("OLIST_LLM_MODEL", "olist/template"),
            api_base=os.environ.get("OLIST_LLM_API_BASE") or None,
            # the key only ever comes from the environment, and is never logged or stored
            api_key=dg.EnvVar("OLIST_LLM_API_KEY") if os.environ.get("OLIST_LLM_API_KEY") else None,
            cache_dir=llm_cache,
        ),
        "coupons": coupons,
    }

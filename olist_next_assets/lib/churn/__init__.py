"""The churn model: features, out-of-time windows, training, metrics, tuning, reasons. Pure code,
no Dagster; the assets in ``defs/ml`` call it."""

"""Blocking schema-drift checks on the column schema each materialization records.

Dagster's ``build_column_schema_change_checks`` is non-blocking and compares the two latest
materializations, which for a weekly asset backfilled in one run are two weeks of the same run.
This check compares the latest materialization with the latest one of an *earlier run*, and is
blocking: a table whose columns changed stops the assets downstream of it in the same run.

Delta itself already refuses to replace weeks of a table with rows of another schema (the step
fails with ``SchemaMismatchError``); this check catches the drift that Delta cannot see: a table
rebuilt from scratch (dropped, restored, or written by another engine) with other columns.
"""

from collections.abc import Sequence

import dagster as dg

CHECK_NAME = "column_schema_drift"
LOOKBACK = 1000  # materializations scanned for the previous run (one per week per run)


def schema_of(materialization: dg.AssetMaterialization) -> dict[str, str] | None:
    value = materialization.metadata.get("dagster/column_schema")
    if value is None:
        return None
    return {column.name: column.type for column in value.value.columns}


def schema_diff(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Human-readable differences, naming every column that was added, removed or retyped."""
    changes = [f"column '{c}' removed" for c in previous if c not in current]
    changes += [f"column '{c}' added ({current[c]})" for c in current if c not in previous]
    changes += [
        f"column '{c}' changed type {previous[c]} -> {current[c]}"
        for c in current
        if c in previous and previous[c] != current[c]
    ]
    return changes


def evaluate(instance: dg.DagsterInstance, key: dg.AssetKey) -> dg.AssetCheckResult:
    records = instance.fetch_materializations(key, limit=LOOKBACK).records
    if not records:
        return dg.AssetCheckResult(asset_key=key, check_name=CHECK_NAME, passed=True,
                                   description="Not materialized yet.")
    latest = records[0]
    previous = next((r for r in records if r.run_id != latest.run_id), None)
    current_schema = schema_of(latest.asset_materialization)
    if previous is None or current_schema is None:
        return dg.AssetCheckResult(asset_key=key, check_name=CHECK_NAME, passed=True,
                                   description="No earlier run to compare with.")
    previous_schema = schema_of(previous.asset_materialization) or current_schema
    changes = schema_diff(previous_schema, current_schema)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=not changes,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(changes) if changes else "Same columns and types as the previous run.",
        metadata={"compared_with_run": previous.run_id, "changes": dg.MetadataValue.json(changes)},
    )


def build_schema_drift_checks(keys: Sequence[dg.AssetKey]) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(CHECK_NAME, asset=key, blocking=True,
                              description="Columns and types match the previous run's (ERROR naming each change).")
            for key in keys
        ],
        can_subset=True,
        name=f"{keys[0].path[0]}_column_schema_drift",
    )
    def _schema_drift(context: dg.AssetCheckExecutionContext):
        for check_key in context.selected_asset_check_keys:
            yield evaluate(context.instance, check_key.asset_key)

    return _schema_drift

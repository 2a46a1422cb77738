"""Bronze asset checks as plain functions over what was written (callable from tests).

The bronze asset evaluates them right after its IO manager has committed, on the rows read back
from Delta, so they check the table and not the asset's intentions.
"""

from __future__ import annotations

import dagster as dg
import pandera.errors
import polars as pl

from olist_next_assets.lib.contracts import Contract, pandera_schema
from olist_next_assets.lib.ingest import IngestResult, SourceHeader

CONTRACT = "contract_conformance"
PRIMARY_KEY = "primary_key_unique"
RECONCILIATION = "row_reconciliation"
SOURCE_DRIFT = "source_schema_drift"
REFERENCES = "referential_integrity"


def check_specs(contract: Contract, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(CONTRACT, asset=key, blocking=True,
                          description="Written rows match the contract (pandera, polars backend)."),
        dg.AssetCheckSpec(RECONCILIATION, asset=key, blocking=True,
                          description="Every source record in scope is in bronze or quarantine."),
        dg.AssetCheckSpec(SOURCE_DRIFT, asset=key, blocking=True,
                          description="Source header vs the previous materialization; a missing "
                                      "contract column is an error naming it."),
    ]
    if contract.primary_key:
        specs.append(dg.AssetCheckSpec(PRIMARY_KEY, asset=key, blocking=True,
                                       description=f"({', '.join(contract.primary_key)}) is unique."))
    if contract.references:
        specs.append(dg.AssetCheckSpec(REFERENCES, asset=key, blocking=False,
                                       description="Share of foreign keys found in their tables (reported, "
                                                   "not enforced: real exports have orphans)."))
    return specs


def contract_conformance(contract: Contract, written: pl.DataFrame) -> dg.AssetCheckResult:
    try:
        pandera_schema(contract).validate(written, lazy=True)
    except (pandera.errors.SchemaErrors, pandera.errors.SchemaError) as error:
        return dg.AssetCheckResult(
            check_name=CONTRACT,
            passed=False,
            description=str(error)[:2000],
            metadata={"rows_checked": written.height},
        )
    return dg.AssetCheckResult(check_name=CONTRACT, passed=True, metadata={"rows_checked": written.height})


def primary_key_unique(contract: Contract, written: pl.DataFrame) -> dg.AssetCheckResult:
    duplicates = written.select(contract.primary_key).filter(pl.struct(contract.primary_key).is_duplicated())
    sample = duplicates.head(5).to_dicts()
    return dg.AssetCheckResult(
        check_name=PRIMARY_KEY,
        passed=duplicates.is_empty(),
        metadata={"duplicate_rows": duplicates.height, "sample": dg.MetadataValue.json(sample)},
    )


def row_reconciliation(result: IngestResult, bronze_on_disk: int, quarantine_on_disk: int) -> dg.AssetCheckResult:
    """Every source record is in bronze (this window or another week) or in quarantine, and the
    Delta tables hold exactly what was written."""
    passed = (
        result.accounted == result.source_records
        and bronze_on_disk == result.bronze_in_window
        and quarantine_on_disk == result.quarantined
    )
    return dg.AssetCheckResult(
        check_name=RECONCILIATION,
        passed=passed,
        description=None if passed else "Some source records are neither in bronze nor in quarantine.",
        metadata={
            "source_records": result.source_records,
            "bronze_rows_in_run_weeks": bronze_on_disk,
            "bronze_rows_other_weeks": result.bronze_other_weeks,
            "quarantine_rows": quarantine_on_disk,
            "quarantined_without_week": result.quarantined_unplaced,
        },
    )


def source_schema_drift(
    contract: Contract, header: SourceHeader, previous_columns: list[str] | None
) -> dg.AssetCheckResult:
    """ERROR when a contract column is missing; WARN when columns appear or disappear."""
    metadata = {"source_columns": dg.MetadataValue.json(header.columns)}
    if header.missing:
        return dg.AssetCheckResult(
            check_name=SOURCE_DRIFT,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"Contract column(s) missing from {contract.source_file}: "
            + ", ".join(header.missing),
            metadata=metadata,
        )
    if previous_columns is None:
        return dg.AssetCheckResult(check_name=SOURCE_DRIFT, passed=True, metadata=metadata,
                                   description="First materialization: nothing to compare.")
    added = [c for c in header.columns if c not in previous_columns]
    removed = [c for c in previous_columns if c not in header.columns]
    if added or removed:
        parts = []
        if added:
            parts.append(f"new column(s) {', '.join(added)} kept in _rescued_data")
        if removed:
            parts.append(f"column(s) {', '.join(removed)} no longer sent")
        return dg.AssetCheckResult(
            check_name=SOURCE_DRIFT,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(parts),
            metadata={**metadata, "added": dg.MetadataValue.json(added), "removed": dg.MetadataValue.json(removed)},
        )
    return dg.AssetCheckResult(check_name=SOURCE_DRIFT, passed=True, metadata=metadata)


def referential_integrity(found: dict[str, tuple[int, int]]) -> dg.AssetCheckResult:
    """``found`` maps ``column -> table`` to (rows checked, rows whose key is missing)."""
    orphans = {name: missing for name, (_, missing) in found.items()}
    return dg.AssetCheckResult(
        check_name=REFERENCES,
        passed=not any(orphans.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **{f"orphans: {name}": dg.MetadataValue.int(n) for name, n in orphans.items()},
            **{f"checked: {name}": dg.MetadataValue.int(checked) for name, (checked, _) in found.items()},
        },
    )

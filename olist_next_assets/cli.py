"""``olist-next``: generate data, run the asset graph, benchmark it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from olist_next_assets.pipeline import DEFAULT_CUSTOMERS


def _generate(args: argparse.Namespace) -> int:
    from olist_next_assets.lib.synthetic import generate

    report = generate(Path(args.out), customers=args.customers, seed=args.seed)
    print(f"Wrote the 9 Olist tables to {Path(args.out).resolve()} in {report.seconds:.1f} s:")
    for name, rows in report.rows.items():
        print(f"  {name:<48} {rows:>10,}")
    return 0


def _set_engine(args: argparse.Namespace) -> None:
    """``--engine`` wins over OLIST_ENGINE (read when the definitions load)."""
    if getattr(args, "engine", None):
        os.environ["OLIST_ENGINE"] = args.engine


def _run(args: argparse.Namespace) -> int:
    from olist_next_assets import pipeline

    _set_engine(args)

    home = pipeline.ensure_dagster_home()
    landing = pipeline.landing_dir()
    started = time.perf_counter()
    source = pipeline.ensure_landing(landing, customers=args.customers, seed=args.seed)
    print(f"Landing zone: {landing} ({source})")
    print(f"Materializing {args.job} for every weekly partition in one run ...")
    result = pipeline.run_all(args.job)
    from olist_next_assets.defs.resources import resources_for_env

    lake_root = resources_for_env()["lake"].root
    print(f"\n{'table':<34}{'rows':>12}{'delta v':>9}")
    for table in pipeline.table_summaries(lake_root):
        print(f"{table.name:<34}{table.rows:>12,}{table.version:>9}")
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    for evaluation in failed:
        print(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
              f"{evaluation.severity.value} {evaluation.description or ''}")
    print()
    for line in pipeline.model_summary(lake_root):
        print(line)
    mlflow_uri = resources_for_env()["mlflow"].tracking_uri
    print(f"\nRun {result.run_id} {'succeeded' if result.success else 'FAILED'} "
          f"in {time.perf_counter() - started:.1f} s. Tables under {lake_root}")
    print(f"Dagster UI: cd {Path.cwd()} && DAGSTER_HOME={home} dagster dev  (then http://127.0.0.1:3000)")
    print(f"MLflow UI:  mlflow ui --backend-store-uri {mlflow_uri}  (then http://127.0.0.1:5000)")
    print("CRM app:    olist-next crm  (then http://127.0.0.1:8501)")
    return 0 if result.success else 1


def _backfill(args: argparse.Namespace) -> int:
    from olist_next_assets import pipeline
    from olist_next_assets.defs.resources import resources_for_env

    _set_engine(args)

    pipeline.ensure_dagster_home()
    started = time.perf_counter()
    print(f"Materializing {args.job} for {args.first} to {args.last} in one run ...")
    result = pipeline.run_all(args.job, first=args.first, last=args.last)
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            print(f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}: "
                  f"{evaluation.severity.value} {evaluation.description or ''}")
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    print(f"Run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s: "
          f"{len(materialized)} assets; tables under {resources_for_env()['lake'].root}")
    return 0 if result.success else 1


def _crm(args: argparse.Namespace) -> int:
    import os
    from importlib.resources import files

    from olist_next_assets import pipeline

    pipeline.ensure_dagster_home()
    app = str(files("olist_next_assets.crm") / "app.py")
    argv = [sys.executable, "-m", "streamlit", "run", app, "--server.address", args.host, "--server.port",
            str(args.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    print(f"Retention CRM on http://{args.host}:{args.port} (Ctrl+C to stop)", flush=True)
    os.execv(sys.executable, argv)  # Streamlit takes this process over: signals reach it directly


def _bench(args: argparse.Namespace) -> int:
    from olist_next_assets.bench import features, ingest, model

    if args.kind == "model":
        return model.main(customers=args.customers, seed=args.seed, keep=args.keep, budget=args.budget)
    bench = {"ingest": ingest, "features": features}[args.kind]
    return bench.main(customers=args.customers, seed=args.seed, keep=args.keep)


def _bench_emails(args: argparse.Namespace) -> int:
    from olist_next_assets.bench import emails

    return emails.main(count=args.count, latency=args.latency, local=args.local)


def _bench_reliability(args: argparse.Namespace) -> int:
    from olist_next_assets.bench import reliability

    return reliability.main(customers=args.customers, skip=tuple(args.skip), keep=args.keep)


def _bench_crm(args: argparse.Namespace) -> int:
    from olist_next_assets.bench import crm

    return crm.main(lake=args.lake)


def _bench_sentiment(args: argparse.Namespace) -> int:
    import os

    from olist_next_assets.bench import sentiment

    real_dir = args.real_dir or os.environ.get("OLIST_REAL_DIR")
    if not real_dir:
        raise SystemExit("Give --real-dir (the folder with head_slices/) or set OLIST_REAL_DIR.")
    return sentiment.main(Path(real_dir))


def _spark_jars(args: argparse.Namespace) -> int:
    from olist_next_assets.lib.spark.session import fetch_delta_jars

    for path in fetch_delta_jars():
        print(path)
    return 0


def _bench_engines(args: argparse.Namespace) -> int:
    from olist_next_assets.bench import engines

    return engines.main([int(s) for s in args.scales.split(",")], args.engines.split(","), seed=args.seed,
                        keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="olist-next", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write the 9 synthetic Olist CSV tables")
    generate.add_argument("--out", required=True, help="directory to write into")
    generate.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    generate.add_argument("--seed", type=int, default=42)
    generate.set_defaults(func=_generate)

    run = commands.add_parser("run", help="materialize the asset graph for the whole history")
    run.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                     help="synthetic scale when the landing zone is empty")
    run.add_argument("--seed", type=int, default=42)
    run.add_argument("--job", default="olist_next_job",
                     help="olist_next_job (everything), lake_job, bronze_job, features_job, model_job or tuning_job")
    run.add_argument("--engine", choices=("polars", "spark"), help="overrides OLIST_ENGINE (default polars)")
    run.set_defaults(func=_run)

    backfill = commands.add_parser("backfill", help="materialize a range of past weeks in one run")
    backfill.add_argument("--from", dest="first", required=True, help="first week (a Monday, YYYY-MM-DD)")
    backfill.add_argument("--to", dest="last", required=True, help="last week (a Monday, YYYY-MM-DD)")
    backfill.add_argument("--job", default="olist_next_job",
                          help="olist_next_job (everything), lake_job, bronze_job, features_job or model_job")
    backfill.add_argument("--engine", choices=("polars", "spark"), help="overrides OLIST_ENGINE (default polars)")
    backfill.set_defaults(func=_backfill)

    jars = commands.add_parser("spark-jars", help="fetch Delta Lake's Spark jars into ~/.m2 with mvn (once)")
    jars.set_defaults(func=_spark_jars)

    crm = commands.add_parser("crm", help="the retention CRM web app (Streamlit)")
    crm.add_argument("--host", default="127.0.0.1", help="bind address (localhost by default)")
    crm.add_argument("--port", type=int, default=8501)
    crm.set_defaults(func=_crm)

    bench = commands.add_parser("bench", help="benchmarks that print a table")
    bench_kinds = bench.add_subparsers(dest="kind", required=True)
    for kind, text in (("ingest", "generation + full bronze backfill"),
                       ("features", "silver + all weekly snapshots, and the cost of one week"),
                       ("model", "one weekly retrain, the hyperparameter search, scoring throughput")):
        bench_kind = bench_kinds.add_parser(kind, help=text)
        bench_kind.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
        bench_kind.add_argument("--seed", type=int, default=42)
        bench_kind.add_argument("--keep", action="store_true", help="keep the scratch directory")
        if kind == "model":
            bench_kind.add_argument("--budget", type=float, default=90.0, help="search time budget, seconds")
        bench_kind.set_defaults(func=_bench)
    bench_emails = bench_kinds.add_parser("emails", help="e-mails through litellm: fake server, cache, template, local")
    bench_emails.add_argument("--count", type=int, default=1000)
    bench_emails.add_argument("--latency", type=float, default=0.3, help="fake server latency, seconds")
    bench_emails.add_argument("--local", type=int, default=3, help="e-mails from the local model (0: skip)")
    bench_emails.set_defaults(func=_bench_emails)
    bench_reliability = bench_kinds.add_parser(
        "reliability", help="bad inputs, LLM faults, prompt injection, secret-leak scan: cases tried and passed")
    bench_reliability.add_argument("--customers", type=int, default=2500, help="scale of the planted-secret runs")
    bench_reliability.add_argument("--skip", action="append", default=[],
                                   choices=["bad-input", "faults", "injection", "secrets"], help="leave a part out")
    bench_reliability.add_argument("--keep", action="store_true", help="keep the scratch directory")
    bench_reliability.set_defaults(func=_bench_reliability)
    bench_crm = bench_kinds.add_parser("crm", help="CRM reads: the week queue and opening a customer")
    bench_crm.add_argument("--lake", help="lake root (default: $OLIST_LAKE_ROOT or dagster_home/lake)")
    bench_crm.set_defaults(func=_bench_crm)
    bench_engines = bench_kinds.add_parser("engines", help="landing zone to gold, polars vs Spark, at 1x and 10x")
    bench_engines.add_argument("--scales", default="1,10", help="comma-separated multiples of the real data")
    bench_engines.add_argument("--engines", default="polars,spark")
    bench_engines.add_argument("--seed", type=int, default=42)
    bench_engines.add_argument("--keep", action="store_true", help="keep the scratch directories")
    bench_engines.set_defaults(func=_bench_engines)
    bench_sentiment = bench_kinds.add_parser("sentiment", help="review sentiment vs star scores on real comments")
    bench_sentiment.add_argument("--real-dir", help="real Olist samples (default: $OLIST_REAL_DIR)")
    bench_sentiment.set_defaults(func=_bench_sentiment)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The reference PySpark job for the batch side: the starting point for Databricks.

It streams both layouts the app writes (docs/downloads.md, docs/logs.md) with Structured
Streaming's file source, which reads every new file once, and keeps two tables:

* ``downloads_by_country``: per tenant, day, store and country, the downloads (newest truth:
  the normalised files are a change log, so their sum is right whatever was revised);
* ``logs_hourly``: per tenant, day and UTC hour, requests, unique client hashes and bytes.

Run: ``spark-submit batch/reference_job.py --downloads <.../normalised> --logs <logs container>
--output <folder> --checkpoints <folder> [--available-now]``. The functions below are quoted
verbatim in the docs, and the tests run this file against what the app writes.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

COUNTS = ("downloads", "redownloads", "updates", "install_events", "update_events")
DOWNLOADS_SCHEMA = T.StructType(
    [
        T.StructField("date", T.DateType()),
        T.StructField("store", T.StringType()),
        T.StructField("tenant", T.StringType()),
        T.StructField("app_id", T.StringType()),
        T.StructField("country", T.StringType()),
    ]
    + [T.StructField(name, T.LongType()) for name in COUNTS]
    + [T.StructField("revision", T.StringType()), T.StructField("change", T.StringType())]
)


def read_downloads(spark: SparkSession, path: str) -> DataFrame:
    """Every normalised CSV under ``path`` (the container's ``normalised/`` folder), each read once."""
    return (
        spark.readStream.schema(DOWNLOADS_SCHEMA)
        .option("header", True)
        .option("recursiveFileLookup", True)
        .option("pathGlobFilter", "*.csv")
        .csv(path)
    )


def downloads_truth(rows: DataFrame) -> DataFrame:
    """The newest truth per day, store, tenant, app and country: the sum over every file.
    ``present`` counts adds minus retractions: 1 for a row of the newest version, 0 for a row
    a revision dropped (keep ``present > 0``)."""
    present = F.sum(F.when(F.col("change") == "add", 1).otherwise(-1)).alias("present")
    return rows.groupBy("date", "store", "tenant", "app_id", "country").agg(
        *[F.sum(name).alias(name) for name in COUNTS], present
    )


LOGS_SCHEMA = T.StructType(
    [
        T.StructField("time", T.TimestampType()),
        T.StructField("host", T.StringType()),
        T.StructField("format", T.StringType()),
        T.StructField("tenant", T.StringType()),
        T.StructField("client", T.StringType()),
        T.StructField("status", T.IntegerType()),
        T.StructField("bytes", T.LongType()),
        T.StructField("duration_ms", T.LongType()),
        T.StructField("path", T.StringType()),
        T.StructField("client_kind", T.StringType()),
        T.StructField("device", T.StringType()),
        T.StructField("forwarded_for", T.ArrayType(T.StringType())),
        T.StructField("method", T.StringType()),
        T.StructField("frontend", T.StringType()),
        T.StructField("backend", T.StringType()),
        T.StructField("unparsed", T.BooleanType()),
        T.StructField("chars", T.LongType()),
    ]
)


def read_logs(spark: SparkSession, path: str) -> DataFrame:
    """Every shipped log file under ``path`` (the logs container), each read once.
    Times are UTC: run with ``spark.sql.session.timeZone`` set to ``UTC``."""
    return (
        spark.readStream.schema(LOGS_SCHEMA)
        .option("recursiveFileLookup", True)
        .option("pathGlobFilter", "*.jsonl.gz")
        .json(path)
    )


def logs_by_client(records: DataFrame) -> DataFrame:
    """Requests and bytes per tenant, day, hour and client hash: the streaming state from which
    unique clients are counted exactly (Spark cannot count distinct values in a stream)."""
    requests = records.where(F.col("unparsed").isNull() & F.col("tenant").isNotNull())
    return requests.groupBy("tenant", F.to_date("time").alias("date"), F.hour("time").alias("hour"), "client").agg(
        F.count(F.lit(1)).alias("requests"), F.sum("bytes").alias("bytes")
    )


def logs_hourly(by_client: DataFrame) -> DataFrame:
    """Per tenant, day and hour: requests, unique client hashes, bytes (batch, over ``logs_by_client``)."""
    return by_client.groupBy("tenant", "date", "hour").agg(
        F.sum("requests").alias("requests"), F.count("client").alias("unique_clients"), F.sum("bytes").alias("bytes")
    )


def downloads_by_country(truth: DataFrame) -> DataFrame:
    """Per tenant, day, store and country: downloads of every app of the tenant (batch, over ``downloads_truth``)."""
    return (
        truth.where(F.col("present") > 0)
        .groupBy("tenant", "date", "store", "country")
        .agg(F.sum("downloads").alias("downloads"))
    )


def run(
    spark: SparkSession, *, downloads: str, logs: str, output: str, checkpoints: str, available_now: bool = False
) -> None:
    """Both streams; each trigger rewrites the two small result tables (Parquet) from the streams' state."""

    def sink(name, finish):
        def write(batch: DataFrame, _batch_id: int) -> None:
            finish(batch).write.mode("overwrite").parquet(f"{output}/{name}")

        return write

    queries = []
    for name, stream, finish in (
        ("downloads_by_country", downloads_truth(read_downloads(spark, downloads)), downloads_by_country),
        ("logs_hourly", logs_by_client(read_logs(spark, logs)), logs_hourly),
    ):
        writer = (
            stream.writeStream.outputMode("complete")
            .foreachBatch(sink(name, finish))
            .option("checkpointLocation", f"{checkpoints}/{name}")
        )
        queries.append((writer.trigger(availableNow=True) if available_now else writer).start())
    for query in queries:
        query.awaitTermination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for option in ("--downloads", "--logs", "--output", "--checkpoints"):
        parser.add_argument(option, required=True)
    parser.add_argument("--available-now", action="store_true", help="process what is there, then stop")
    args = parser.parse_args()
    spark = (
        SparkSession.builder.appName("fabrik-reference-job").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    )
    run(
        spark,
        downloads=args.downloads,
        logs=args.logs,
        output=args.output,
        checkpoints=args.checkpoints,
        available_now=args.available_now,
    )


if __name__ == "__main__":
    main()

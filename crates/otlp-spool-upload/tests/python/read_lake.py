"""Read an otlp-spool lake from an S3 API server the way a lake user would: pyarrow's
S3FileSystem + pyarrow.dataset with hive partitioning, then DuckDB over that table.

Prints one JSON object per signal found: rows counted by pyarrow and by DuckDB, the object
keys (fragments), the partition values and a few column values the tests compare.

    python read_lake.py ENDPOINT BUCKET PREFIX ACCESS_KEY SECRET_KEY [SIGNAL ...]

DuckDB's httpfs extension cannot be installed offline, so DuckDB reads the pyarrow table
(a replacement scan of the local variable), not the bucket itself.
"""

import json
import sys

import duckdb
import pyarrow.dataset as ds
import pyarrow.fs as pafs


def main():
    endpoint, bucket, prefix, access_key, secret_key = sys.argv[1:6]
    signals = sys.argv[6:] or ["traces", "metrics", "logs"]
    scheme, host = endpoint.split("://", 1)
    s3 = pafs.S3FileSystem(
        endpoint_override=host,
        scheme=scheme,
        access_key=access_key,
        secret_key=secret_key,
        region="us-east-1",
    )
    base = f"{bucket}/{prefix}".rstrip("/")
    out = {}
    for signal in signals:
        root = f"{base}/{signal}"
        info = s3.get_file_info(root)
        if info.type == pafs.FileType.NotFound:
            continue
        dataset = ds.dataset(root, filesystem=s3, format="parquet", partitioning="hive")
        table = dataset.to_table()
        lake = table  # noqa: F841 (DuckDB finds it by name)
        rows = duckdb.sql("select count(*) from lake").fetchall()[0][0]
        by_partition = duckdb.sql(
            "select cast(date as varchar), cast(hour as integer), count(*) "
            "from lake group by all order by all"
        ).fetchall()
        entry = {
            "rows": table.num_rows,
            "duckdb_rows": rows,
            "files": sorted(f.path[len(root) + 1 :] for f in dataset.get_fragments()),
            "partitions": [[d, h, n] for (d, h, n) in by_partition],
        }
        if signal == "traces":
            entry["names"] = sorted(
                r[0] for r in duckdb.sql("select name from lake").fetchall()
            )
            entry["distinct_span_ids"] = duckdb.sql(
                "select count(distinct span_id) from lake"
            ).fetchall()[0][0]
        out[signal] = entry
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

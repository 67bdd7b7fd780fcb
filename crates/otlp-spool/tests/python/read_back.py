"""Read an otlp-spool output directory with pyarrow and query it with DuckDB.

Prints one JSON object the end-to-end tests compare with what the clients sent. Arrow IPC stream
files are opened by pyarrow (DuckDB cannot read IPC offline) and handed to DuckDB as tables.

    python read_back.py OUTPUT_DIR
"""

import glob
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc


def load(out_dir, signal):
    tables = []
    for path in sorted(glob.glob(os.path.join(out_dir, signal, "*.arrow"))):
        with open(path, "rb") as f:
            tables.append(ipc.open_stream(f).read_all())
    if not tables:
        return None
    return pa.concat_tables(tables)


def main():
    out_dir = sys.argv[1]
    result = {}

    spans = load(out_dir, "traces")
    if spans is not None:
        result["traces"] = {
            "rows": spans.num_rows,
            "spans": [
                {"name": n, "trace_id": t, "span_id": s}
                for (n, t, s) in duckdb.sql("select name, trace_id, span_id from spans order by name").fetchall()
            ],
            # Attribute filter: spans whose http.method attribute is the string GET.
            "get_spans": duckdb.sql(
                "select name from spans, unnest(attributes) as a(attr) "
                "where attr.key = 'http.method' and attr.value.string_value = 'GET'"
            ).fetchall(),
            "status_code_int": duckdb.sql(
                "select attr.value.int_value from spans, unnest(attributes) as a(attr) "
                "where attr.key = 'http.status_code'"
            ).fetchall(),
            "service_names": sorted(
                {
                    r[0]
                    for r in duckdb.sql(
                        "select attr.value.string_value from spans, unnest(resource_attributes) as a(attr) "
                        "where attr.key = 'service.name'"
                    ).fetchall()
                }
            ),
        }

    points = load(out_dir, "metrics")
    if points is not None:
        result["metrics"] = {
            "rows": points.num_rows,
            "names": sorted({r[0] for r in duckdb.sql("select metric_name from points").fetchall()}),
            "requests": [
                r[0]
                for r in duckdb.sql(
                    "select as_int from points where metric_name = 'requests' order by time_unix_nano"
                ).fetchall()
            ],
            "temporalities": sorted(
                {
                    r[0]
                    for r in duckdb.sql(
                        "select aggregation_temporality from points where metric_name = 'requests'"
                    ).fetchall()
                }
            ),
        }

    records = load(out_dir, "logs")
    if records is not None:
        result["logs"] = {
            "rows": records.num_rows,
            "bodies": sorted(
                r[0] for r in duckdb.sql("select body.string_value from records").fetchall() if r[0] is not None
            ),
            "severity_numbers": sorted(r[0] for r in duckdb.sql("select severity_number from records").fetchall()),
        }

    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""The rows otlp-spool must store for an OTLP request, computed from the protobuf message the
official encoders (``encode_spans`` / ``encode_metrics`` / ``encode_logs``) produce.

This is an independent, straightforward flattening written from the storage crate's README
("Schemas"): one row per span / data point / log record, resource and scope fields repeated,
ids as lowercase hex, attributes as lists of ``{key, value: AnyValue struct, key_strindex}``.
Stored rows are compared as values (``to_pylist()``), so dictionary encoding or other
physical layouts of the same values do not matter.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1 import common_pb2

# The columns whose value is a position inside one request; the pipeline may merge requests.
INDEX_COLUMNS = ("resource_index", "scope_index", "metric_index")


def _hex(b: bytes) -> str:
    return b.hex()


def any_value(value: common_pb2.AnyValue | None) -> dict[str, Any] | None:
    if value is None:
        return None
    row: dict[str, Any] = {
        "type": 0,
        "string_value": None,
        "bool_value": None,
        "int_value": None,
        "double_value": None,
        "bytes_value": None,
        "nested_value": None,
    }
    which = value.WhichOneof("value")
    if which == "string_value":
        row.update(type=1, string_value=value.string_value)
    elif which == "bool_value":
        row.update(type=2, bool_value=value.bool_value)
    elif which == "int_value":
        row.update(type=3, int_value=value.int_value)
    elif which == "double_value":
        row.update(type=4, double_value=value.double_value)
    elif which == "array_value":
        row.update(type=5, nested_value=value.array_value.SerializeToString(deterministic=True))
    elif which == "kvlist_value":
        row.update(type=6, nested_value=value.kvlist_value.SerializeToString(deterministic=True))
    elif which == "bytes_value":
        row.update(type=7, bytes_value=value.bytes_value)
    return row


def attributes(kvs: Any) -> list[dict[str, Any]]:
    return [
        {
            "key": kv.key,
            "value": any_value(kv.value) if kv.HasField("value") else None,
            "key_strindex": kv.key_strindex,
        }
        for kv in kvs
    ]


def _leading(resource_container: Any, scope_container: Any) -> dict[str, Any]:
    has_resource = resource_container.HasField("resource")
    resource = resource_container.resource
    has_scope = scope_container.HasField("scope")
    scope = scope_container.scope
    return {
        "resource_attributes": attributes(resource.attributes) if has_resource else None,
        "resource_dropped_attributes_count": resource.dropped_attributes_count if has_resource else None,
        "resource_entity_refs": (
            [
                {
                    "schema_url": e.schema_url,
                    "type": e.type,
                    "id_keys": list(e.id_keys),
                    "description_keys": list(e.description_keys),
                }
                for e in resource.entity_refs
            ]
            if has_resource
            else None
        ),
        "resource_schema_url": resource_container.schema_url,
        "scope_name": scope.name if has_scope else None,
        "scope_version": scope.version if has_scope else None,
        "scope_attributes": attributes(scope.attributes) if has_scope else None,
        "scope_dropped_attributes_count": scope.dropped_attributes_count if has_scope else None,
        "scope_schema_url": scope_container.schema_url,
    }


def span_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                row = _leading(rs, ss)
                has_status = span.HasField("status")
                row.update(
                    trace_id=_hex(span.trace_id),
                    span_id=_hex(span.span_id),
                    parent_span_id=_hex(span.parent_span_id),
                    trace_state=span.trace_state,
                    flags=span.flags,
                    name=span.name,
                    kind=span.kind,
                    start_time_unix_nano=span.start_time_unix_nano,
                    end_time_unix_nano=span.end_time_unix_nano,
                    attributes=attributes(span.attributes),
                    dropped_attributes_count=span.dropped_attributes_count,
                    events=[
                        {
                            "time_unix_nano": e.time_unix_nano,
                            "name": e.name,
                            "attributes": attributes(e.attributes),
                            "dropped_attributes_count": e.dropped_attributes_count,
                        }
                        for e in span.events
                    ],
                    dropped_events_count=span.dropped_events_count,
                    links=[
                        {
                            "trace_id": _hex(link.trace_id),
                            "span_id": _hex(link.span_id),
                            "trace_state": link.trace_state,
                            "attributes": attributes(link.attributes),
                            "dropped_attributes_count": link.dropped_attributes_count,
                            "flags": link.flags,
                        }
                        for link in span.links
                    ],
                    dropped_links_count=span.dropped_links_count,
                    status_code=span.status.code if has_status else None,
                    status_message=span.status.message if has_status else None,
                )
                rows.append(row)
    return rows


_METRIC_NULLS = {
    "aggregation_temporality": None,
    "is_monotonic": None,
    "as_double": None,
    "as_int": None,
    "count": None,
    "sum": None,
    "bucket_counts": None,
    "explicit_bounds": None,
    "min": None,
    "max": None,
    "scale": None,
    "zero_count": None,
    "zero_threshold": None,
    "positive": None,
    "negative": None,
    "quantile_values": None,
}


def _exemplars(point: Any) -> list[dict[str, Any]]:
    out = []
    for e in point.exemplars:
        which = e.WhichOneof("value")
        out.append(
            {
                "filtered_attributes": attributes(e.filtered_attributes),
                "time_unix_nano": e.time_unix_nano,
                "span_id": _hex(e.span_id),
                "trace_id": _hex(e.trace_id),
                "as_double": e.as_double if which == "as_double" else None,
                "as_int": e.as_int if which == "as_int" else None,
            }
        )
    return out


def _optional(point: Any, field: str) -> Any:
    return getattr(point, field) if point.HasField(field) else None


def _buckets(point: Any, field: str) -> dict[str, Any] | None:
    if not point.HasField(field):
        return None
    b = getattr(point, field)
    return {"offset": b.offset, "bucket_counts": list(b.bucket_counts)}


def metric_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                data = getattr(metric, kind)
                for point in data.data_points:
                    row = _leading(rm, sm)
                    row.update(
                        metric_name=metric.name,
                        metric_description=metric.description,
                        metric_unit=metric.unit,
                        metric_metadata=attributes(metric.metadata),
                        metric_type=kind,
                        attributes=attributes(point.attributes),
                        start_time_unix_nano=point.start_time_unix_nano,
                        time_unix_nano=point.time_unix_nano,
                        flags=point.flags,
                        exemplars=_exemplars(point) if kind != "summary" else [],
                    )
                    row.update(_METRIC_NULLS)
                    if kind in ("sum", "histogram", "exponential_histogram"):
                        row["aggregation_temporality"] = data.aggregation_temporality
                    if kind == "sum":
                        row["is_monotonic"] = data.is_monotonic
                    if kind in ("gauge", "sum"):
                        which = point.WhichOneof("value")
                        row["as_double"] = point.as_double if which == "as_double" else None
                        row["as_int"] = point.as_int if which == "as_int" else None
                    if kind == "histogram":
                        row.update(
                            count=point.count,
                            sum=_optional(point, "sum"),
                            bucket_counts=list(point.bucket_counts),
                            explicit_bounds=list(point.explicit_bounds),
                            min=_optional(point, "min"),
                            max=_optional(point, "max"),
                        )
                    if kind == "exponential_histogram":
                        row.update(
                            count=point.count,
                            sum=_optional(point, "sum"),
                            min=_optional(point, "min"),
                            max=_optional(point, "max"),
                            scale=point.scale,
                            zero_count=point.zero_count,
                            zero_threshold=point.zero_threshold,
                            positive=_buckets(point, "positive"),
                            negative=_buckets(point, "negative"),
                        )
                    if kind == "summary":
                        row.update(
                            count=point.count,
                            sum=point.sum,
                            quantile_values=[
                                {"quantile": q.quantile, "value": q.value} for q in point.quantile_values
                            ],
                        )
                    rows.append(row)
    return rows


def log_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for record in sl.log_records:
                row = _leading(rl, sl)
                row.update(
                    time_unix_nano=record.time_unix_nano,
                    observed_time_unix_nano=record.observed_time_unix_nano,
                    severity_number=record.severity_number,
                    severity_text=record.severity_text,
                    body=any_value(record.body) if record.HasField("body") else None,
                    attributes=attributes(record.attributes),
                    dropped_attributes_count=record.dropped_attributes_count,
                    flags=record.flags,
                    trace_id=_hex(record.trace_id),
                    span_id=_hex(record.span_id),
                    event_name=record.event_name,
                )
                rows.append(row)
    return rows


def _normalize_nested(value: Any) -> Any:
    """Stored ``nested_value`` bytes re-serialized deterministically (prost and upb may order
    map-free messages identically, but the comparison should not depend on it)."""
    if isinstance(value, dict):
        out = {k: _normalize_nested(v) for k, v in value.items()}
        if out.get("type") in (5, 6) and isinstance(out.get("nested_value"), bytes):
            cls = common_pb2.ArrayValue if out["type"] == 5 else common_pb2.KeyValueList
            out["nested_value"] = cls.FromString(out["nested_value"]).SerializeToString(deterministic=True)
        return out
    if isinstance(value, list):
        return [_normalize_nested(v) for v in value]
    return value


def stored_rows(table: Any) -> list[dict[str, Any]]:
    """The table's rows as plain values, index columns dropped, nested values normalized."""
    rows = table.to_pylist()
    return [
        _normalize_nested({k: v for k, v in row.items() if k not in INDEX_COLUMNS}) for row in rows
    ]


def _key(row: dict[str, Any]) -> str:
    return repr(sorted(row.items()))


def assert_rows_equal(stored: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Every expected row is stored, field by field (extra stored columns are ignored)."""
    assert len(stored) == len(expected), f"{len(stored)} rows stored, {len(expected)} expected"
    columns = set(expected[0]) if expected else set()
    missing = columns - set(stored[0]) if stored else set()
    assert not missing, f"columns not stored: {sorted(missing)}"
    projected = sorted(({k: row[k] for k in columns} for row in stored), key=_key)
    expected = sorted(expected, key=_key)
    for got, want in zip(projected, expected):
        for column in sorted(columns):
            assert got[column] == want[column], (
                f"column {column!r} differs: stored {got[column]!r}, encoder gave {want[column]!r}"
            )

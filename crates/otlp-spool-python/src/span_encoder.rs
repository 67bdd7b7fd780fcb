//! The native span encoder: the SDK's `ReadableSpan` objects straight into the protobuf bytes
//! of an `ExportTraceServiceRequest`, without building protobuf Python objects.
//!
//! Invariants:
//! - The bytes equal what the official `encode_spans(spans).SerializeToString()`
//!   (opentelemetry-exporter-otlp-proto-common 1.45) produces for the same spans: the same
//!   grouping (resources and scopes compared as the official encoder's dicts compare them:
//!   identity, else equal hash and `==`; first appearance order), the same fields (trace state
//!   joined as `k=v,...`, the span flags' has-is-remote / is-remote bits, no link trace state),
//!   the same presence rules (proto3 defaults left out, oneof values and set messages kept)
//!   and field-number order. The pytest suite compares the two byte for byte.
//! - It reads only what it knows exactly: the SDK's own classes (checked by exact type, so a
//!   subclass that overrides a property is not misread) and attribute values of type `None`,
//!   `bool`, `str`, `int` (within int64), `float`, `bytes`, `tuple`/`list` and `dict` with
//!   `str` keys. Anything else (another span class, a value the official encoder would log and
//!   skip, or raise on) makes the whole batch [`NotEncodable`]; the Python exporter then uses
//!   the official encoder for that batch, so the output is the official one in every case.
//! - It runs with the GIL held (it reads Python objects) and calls no Python code except the
//!   SDK's `__hash__` / `__eq__` of resources and scopes when a batch holds distinct objects.

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyInt, PyIterator, PyList, PyString, PyTuple, PyType,
};

use crate::protobuf::Writer;

/// `Span.flags`: the has-is-remote bit, always set by the official encoder.
const FLAGS_HAS_IS_REMOTE: u32 = 0x100;
/// `Span.flags`: the is-remote bit, set when the parent (or linked) context is remote.
const FLAGS_IS_REMOTE: u32 = 0x200;

/// Why a batch is left to the official encoder.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotEncodable(pub String);

impl From<PyErr> for NotEncodable {
    fn from(err: PyErr) -> Self {
        NotEncodable(format!("reading the spans raised {err}"))
    }
}

type Result<T> = std::result::Result<T, NotEncodable>;

fn not_encodable<T>(what: impl Into<String>) -> Result<T> {
    Err(NotEncodable(what.into()))
}

/// The SDK classes the encoder reads, imported once.
struct SdkTypes {
    readable_span: Py<PyType>,
    span: Py<PyType>,
    event: Py<PyType>,
    link: Py<PyType>,
    span_context: Py<PyType>,
    trace_state: Py<PyType>,
    span_kind: Py<PyType>,
    status: Py<PyType>,
    status_code: Py<PyType>,
    bounded_attributes: Py<PyType>,
    bounded_list: Py<PyType>,
    resource: Py<PyType>,
    scope: Py<PyType>,
}

static SDK_TYPES: PyOnceLock<SdkTypes> = PyOnceLock::new();

fn sdk_types(py: Python<'_>) -> PyResult<&SdkTypes> {
    SDK_TYPES.get_or_try_init(py, || {
        let get = |module: &str, name: &str| -> PyResult<Py<PyType>> {
            Ok(py
                .import(module)?
                .getattr(name)?
                .cast_into::<PyType>()?
                .unbind())
        };
        Ok(SdkTypes {
            readable_span: get("opentelemetry.sdk.trace", "ReadableSpan")?,
            span: get("opentelemetry.sdk.trace", "_Span")?,
            event: get("opentelemetry.sdk.trace", "Event")?,
            link: get("opentelemetry.trace", "Link")?,
            span_context: get("opentelemetry.trace.span", "SpanContext")?,
            trace_state: get("opentelemetry.trace.span", "TraceState")?,
            span_kind: get("opentelemetry.trace", "SpanKind")?,
            status: get("opentelemetry.trace.status", "Status")?,
            status_code: get("opentelemetry.trace.status", "StatusCode")?,
            bounded_attributes: get("opentelemetry.attributes", "BoundedAttributes")?,
            bounded_list: get("opentelemetry.sdk.util", "BoundedList")?,
            resource: get("opentelemetry.sdk.resources", "Resource")?,
            scope: get(
                "opentelemetry.sdk.util.instrumentation",
                "InstrumentationScope",
            )?,
        })
    })
}

fn is(obj: &Bound<'_, PyAny>, ty: &Py<PyType>) -> bool {
    obj.get_type().is(ty.bind(obj.py()))
}

/// Spans of one instrumentation scope, encoded as `ScopeSpans.spans` fields.
struct ScopeGroup<'py> {
    scope: Bound<'py, PyAny>,
    spans: Writer,
}

struct ResourceGroup<'py> {
    resource: Bound<'py, PyAny>,
    scopes: Vec<ScopeGroup<'py>>,
}

/// Where `key` is among `keys`, matched as a Python dict matches keys: the same object, else
/// equal hashes and `stored == key`.
fn position<'a, 'py: 'a>(
    keys: impl Iterator<Item = &'a Bound<'py, PyAny>>,
    key: &Bound<'py, PyAny>,
) -> Result<Option<usize>> {
    let mut hash = None;
    for (i, stored) in keys.enumerate() {
        if stored.is(key) {
            return Ok(Some(i));
        }
        let h = match hash {
            Some(h) => h,
            None => *hash.insert(key.hash()?),
        };
        if stored.hash()? == h && stored.eq(key)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Encodes `spans` (a sequence of the SDK's `ReadableSpan`) as the protobuf bytes of an
/// `ExportTraceServiceRequest`, equal to the official encoder's; see the module docs.
pub(crate) fn encode_spans(spans: &Bound<'_, PyAny>) -> Result<Vec<u8>> {
    let py = spans.py();
    let types = sdk_types(py).map_err(|e| NotEncodable(format!("importing the SDK: {e}")))?;
    let mut resources: Vec<ResourceGroup<'_>> = Vec::new();
    for span in spans.try_iter()? {
        let span = span?;
        if !(is(&span, &types.readable_span) || is(&span, &types.span)) {
            return not_encodable(format!(
                "a span of type {} (not the SDK's ReadableSpan)",
                span.get_type().name()?
            ));
        }
        let resource = span.getattr(intern!(py, "_resource"))?;
        let mut scope = span.getattr(intern!(py, "_instrumentation_scope"))?;
        // `instrumentation_scope or None`
        if !scope.is_none() && !is(&scope, &types.scope) && !scope.is_truthy()? {
            scope = py.None().into_bound(py);
        }
        let r = match position(resources.iter().map(|g| &g.resource), &resource)? {
            Some(r) => r,
            None => {
                resources.push(ResourceGroup {
                    resource,
                    scopes: Vec::new(),
                });
                resources.len() - 1
            }
        };
        let scopes = &mut resources[r].scopes;
        let s = match position(scopes.iter().map(|g| &g.scope), &scope)? {
            Some(s) => s,
            None => {
                scopes.push(ScopeGroup {
                    scope,
                    spans: Writer::with_capacity(4096),
                });
                scopes.len() - 1
            }
        };
        let out = &mut scopes[s].spans;
        let nested = out.begin(2);
        encode_span(out, &span, types)?;
        out.end(nested);
    }
    let capacity = resources
        .iter()
        .flat_map(|r| &r.scopes)
        .map(|s| s.spans.as_slice().len() + 256)
        .sum();
    let mut w = Writer::with_capacity(capacity);
    for group in &resources {
        let resource_spans = w.begin(1);
        encode_resource(&mut w, &group.resource, types)?;
        for scope in &group.scopes {
            let scope_spans = w.begin(2);
            let schema_url = encode_scope(&mut w, &scope.scope, types)?;
            w.extend(scope.spans.as_slice());
            if let Some(url) = schema_url {
                string(&mut w, 3, &url)?;
            }
            w.end(scope_spans);
        }
        let url = group.resource.getattr(intern!(py, "_schema_url"))?;
        string(&mut w, 3, &url)?;
        w.end(resource_spans);
    }
    Ok(w.into_vec())
}

/// `ResourceSpans.resource`: always present, attributes only.
fn encode_resource(w: &mut Writer, resource: &Bound<'_, PyAny>, types: &SdkTypes) -> Result<()> {
    if !is(resource, &types.resource) {
        return not_encodable("a resource that is not the SDK's Resource");
    }
    let nested = w.begin(1);
    attributes(
        w,
        1,
        &resource.getattr(intern!(resource.py(), "_attributes"))?,
        types,
    )?;
    w.end(nested);
    Ok(())
}

/// `ScopeSpans.scope` (always present, empty for no scope); returns the scope's schema URL.
fn encode_scope<'py>(
    w: &mut Writer,
    scope: &Bound<'py, PyAny>,
    types: &SdkTypes,
) -> Result<Option<Bound<'py, PyAny>>> {
    let nested = w.begin(1);
    if scope.is_none() {
        w.end(nested);
        return Ok(None);
    }
    if !is(scope, &types.scope) {
        return not_encodable("a scope that is not the SDK's InstrumentationScope");
    }
    let py = scope.py();
    string(w, 1, &scope.getattr(intern!(py, "_name"))?)?;
    string(w, 2, &scope.getattr(intern!(py, "_version"))?)?;
    attributes(w, 3, &scope.getattr(intern!(py, "_attributes"))?, types)?;
    w.end(nested);
    Ok(Some(scope.getattr(intern!(py, "_schema_url"))?))
}

fn encode_span(w: &mut Writer, span: &Bound<'_, PyAny>, types: &SdkTypes) -> Result<()> {
    let py = span.py();
    let context = span.getattr(intern!(py, "_context"))?;
    let context = span_context(&context, types)?;
    w.bytes(1, &trace_id(context)?);
    w.bytes(2, &span_id(context)?);
    trace_state(w, &context.get_item(4)?, types)?;
    let parent = span.getattr(intern!(py, "_parent"))?;
    let mut flags = FLAGS_HAS_IS_REMOTE;
    if !parent.is_none() {
        let parent = span_context(&parent, types)?;
        w.bytes(4, &span_id(parent)?);
        if parent.get_item(2)?.is_truthy()? {
            flags |= FLAGS_IS_REMOTE;
        }
    }
    string(w, 5, &span.getattr(intern!(py, "_name"))?)?;
    let kind = span.getattr(intern!(py, "_kind"))?;
    if !is(&kind, &types.span_kind) {
        return not_encodable("a span kind that is not a SpanKind");
    }
    // `_value_`: what `Enum.value` (a Python-level property, a frame per call) returns.
    let kind: u64 = kind.getattr(intern!(py, "_value_"))?.extract()?;
    if kind > 4 {
        return not_encodable(format!("span kind {kind}"));
    }
    w.uint64(6, kind + 1); // SpanKind.INTERNAL (0) is SPAN_KIND_INTERNAL (1), and so on
    timestamp(w, 7, &span.getattr(intern!(py, "_start_time"))?)?;
    timestamp(w, 8, &span.getattr(intern!(py, "_end_time"))?)?;
    let attrs = span.getattr(intern!(py, "_attributes"))?;
    attributes(w, 9, &attrs, types)?;
    count(w, 10, dropped(&attrs, &types.bounded_attributes)?);
    let events = span.getattr(intern!(py, "_events"))?;
    for event in items(&events, types)? {
        let event = event?;
        if !is(&event, &types.event) {
            return not_encodable("an event that is not the SDK's Event");
        }
        let nested = w.begin(11);
        timestamp(w, 1, &event.getattr(intern!(py, "_timestamp"))?)?;
        string(w, 2, &event.getattr(intern!(py, "_name"))?)?;
        let attrs = event.getattr(intern!(py, "_attributes"))?;
        attributes(w, 3, &attrs, types)?;
        count(w, 4, dropped(&attrs, &types.bounded_attributes)?);
        w.end(nested);
    }
    count(w, 12, dropped(&events, &types.bounded_list)?);
    let links = span.getattr(intern!(py, "_links"))?;
    for link in items(&links, types)? {
        let link = link?;
        if !is(&link, &types.link) {
            return not_encodable("a link that is not the API's Link");
        }
        let context = link.getattr(intern!(py, "_context"))?;
        let context = span_context(&context, types)?;
        let nested = w.begin(13);
        w.bytes(1, &trace_id(context)?);
        w.bytes(2, &span_id(context)?);
        let attrs = link.getattr(intern!(py, "_attributes"))?;
        attributes(w, 4, &attrs, types)?;
        count(w, 5, dropped(&attrs, &types.bounded_attributes)?);
        let remote = context.get_item(2)?.is_truthy()?;
        w.fixed32(
            6,
            FLAGS_HAS_IS_REMOTE | if remote { FLAGS_IS_REMOTE } else { 0 },
        );
        w.end(nested);
    }
    count(w, 14, dropped(&links, &types.bounded_list)?);
    status(w, &span.getattr(intern!(py, "_status"))?, types)?;
    w.fixed32(16, flags);
    Ok(())
}

fn span_context<'a, 'py>(
    context: &'a Bound<'py, PyAny>,
    types: &SdkTypes,
) -> Result<&'a Bound<'py, PyTuple>> {
    if !is(context, &types.span_context) {
        return not_encodable("a span context that is not a SpanContext");
    }
    context
        .cast::<PyTuple>()
        .map_err(|_| NotEncodable("a SpanContext that is not a tuple".into()))
}

fn trace_id(context: &Bound<'_, PyTuple>) -> Result<[u8; 16]> {
    let id: u128 = context
        .get_item(0)?
        .extract()
        .map_err(|_| NotEncodable("a trace id outside 0..2**128".into()))?;
    Ok(id.to_be_bytes())
}

fn span_id(context: &Bound<'_, PyTuple>) -> Result<[u8; 8]> {
    let id: u64 = context
        .get_item(1)?
        .extract()
        .map_err(|_| NotEncodable("a span id outside 0..2**64".into()))?;
    Ok(id.to_be_bytes())
}

/// `Span.trace_state`: `k=v` pairs joined by commas, left out when empty.
fn trace_state(w: &mut Writer, state: &Bound<'_, PyAny>, types: &SdkTypes) -> Result<()> {
    if state.is_none() {
        return Ok(());
    }
    if !is(state, &types.trace_state) {
        return not_encodable("a trace state that is not a TraceState");
    }
    let dict = state.getattr(intern!(state.py(), "_dict"))?;
    let dict = exact_dict(&dict)?;
    if dict.is_empty() {
        return Ok(());
    }
    let mut joined = String::new();
    for (key, value) in dict.iter() {
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(exact_str(&key)?);
        joined.push('=');
        joined.push_str(exact_str(&value)?);
    }
    w.bytes(3, joined.as_bytes());
    Ok(())
}

fn status(w: &mut Writer, status: &Bound<'_, PyAny>, types: &SdkTypes) -> Result<()> {
    if status.is_none() {
        return Ok(());
    }
    if !is(status, &types.status) {
        return not_encodable("a status that is not a Status");
    }
    let py = status.py();
    let nested = w.begin(15);
    string(w, 2, &status.getattr(intern!(py, "_description"))?)?;
    let code = status.getattr(intern!(py, "_status_code"))?;
    if !is(&code, &types.status_code) {
        return not_encodable("a status code that is not a StatusCode");
    }
    let code: u64 = code.getattr(intern!(py, "_value_"))?.extract()?;
    if code > 2 {
        return not_encodable(format!("status code {code}"));
    }
    if code != 0 {
        w.uint64(3, code);
    }
    w.end(nested);
    Ok(())
}

/// The elements of a span's events or links: a `BoundedList` (its deque) or a tuple / list.
fn items<'py>(container: &Bound<'py, PyAny>, types: &SdkTypes) -> Result<Bound<'py, PyIterator>> {
    if is(container, &types.bounded_list) {
        // `tuple(bounded_list)` iterates a copy of its deque.
        return Ok(container
            .getattr(intern!(container.py(), "_dq"))?
            .try_iter()?);
    }
    if container.is_exact_instance_of::<PyTuple>() || container.is_exact_instance_of::<PyList>() {
        return Ok(container.try_iter()?);
    }
    not_encodable("events or links in a container of an unknown type")
}

/// A `uint32` count, left out when 0.
fn count(w: &mut Writer, field: u32, value: u32) {
    if value != 0 {
        w.uint64(field, u64::from(value));
    }
}

/// What the SDK's `dropped_*` properties answer: the container's `dropped` when it is the
/// bounded SDK class, else 0.
fn dropped(container: &Bound<'_, PyAny>, bounded: &Py<PyType>) -> Result<u32> {
    if is(container, bounded) {
        container
            .getattr(intern!(container.py(), "dropped"))?
            .extract()
            .map_err(|_| NotEncodable("a dropped count outside uint32".into()))
    } else if container.is_none()
        || container.is_exact_instance_of::<PyDict>()
        || container.is_exact_instance_of::<PyTuple>()
        || container.is_exact_instance_of::<PyList>()
    {
        Ok(0)
    } else {
        not_encodable("a container of attributes, events or links of an unknown type")
    }
}

/// A `fixed64` timestamp: `None` and 0 are left out.
fn timestamp(w: &mut Writer, field: u32, value: &Bound<'_, PyAny>) -> Result<()> {
    if value.is_none() {
        return Ok(());
    }
    if !value.is_exact_instance_of::<PyInt>() {
        return not_encodable("a timestamp that is not an int");
    }
    let ns: u64 = value
        .extract()
        .map_err(|_| NotEncodable("a timestamp outside 0..2**64".into()))?;
    if ns != 0 {
        w.fixed64(field, ns);
    }
    Ok(())
}

/// A proto3 `string` field: `None` and `""` are left out.
fn string(w: &mut Writer, field: u32, value: &Bound<'_, PyAny>) -> Result<()> {
    if value.is_none() {
        return Ok(());
    }
    let s = value
        .cast::<PyString>()
        .map_err(|_| NotEncodable("a name, version, URL or message that is not a str".into()))?;
    let s = s
        .to_str()
        .map_err(|_| NotEncodable("a str that is not valid UTF-8".into()))?;
    if !s.is_empty() {
        w.bytes(field, s.as_bytes());
    }
    Ok(())
}

fn exact_str<'a>(value: &'a Bound<'_, PyAny>) -> Result<&'a str> {
    if !value.is_exact_instance_of::<PyString>() {
        return not_encodable("a key that is not a str");
    }
    value
        .cast::<PyString>()
        .map_err(|_| NotEncodable("a key that is not a str".into()))?
        .to_str()
        .map_err(|_| NotEncodable("a str that is not valid UTF-8".into()))
}

fn exact_dict<'a, 'py>(value: &'a Bound<'py, PyAny>) -> Result<&'a Bound<'py, PyDict>> {
    if !value.is_exact_instance_of::<PyDict>() {
        return not_encodable("a mapping that is not a dict");
    }
    value
        .cast::<PyDict>()
        .map_err(|_| NotEncodable("a mapping that is not a dict".into()))
}

/// Repeated `KeyValue` in `field`: a `BoundedAttributes` (its dict), a dict, or `None`.
fn attributes(
    w: &mut Writer,
    field: u32,
    attrs: &Bound<'_, PyAny>,
    types: &SdkTypes,
) -> Result<()> {
    if attrs.is_none() {
        return Ok(());
    }
    let inner;
    let dict = if is(attrs, &types.bounded_attributes) {
        inner = attrs.getattr(intern!(attrs.py(), "_dict"))?;
        exact_dict(&inner)?
    } else {
        exact_dict(attrs)?
    };
    key_values(w, field, dict)
}

fn key_values(w: &mut Writer, field: u32, dict: &Bound<'_, PyDict>) -> Result<()> {
    for (key, value) in dict.iter() {
        let nested = w.begin(field);
        let key = exact_str(&key)?;
        if !key.is_empty() {
            w.bytes(1, key.as_bytes());
        }
        let value_nested = w.begin(2);
        any_value(w, &value)?;
        w.end(value_nested);
        w.end(nested);
    }
    Ok(())
}

/// The body of an `AnyValue`, in the official encoder's order of `isinstance` checks.
fn any_value(w: &mut Writer, value: &Bound<'_, PyAny>) -> Result<()> {
    if value.is_none() {
        return Ok(()); // an empty AnyValue
    }
    if let Ok(b) = value.cast::<PyBool>() {
        w.uint64(2, u64::from(b.is_true()));
    } else if let Ok(s) = value.cast::<PyString>() {
        let s = s
            .to_str()
            .map_err(|_| NotEncodable("a str that is not valid UTF-8".into()))?;
        w.bytes(1, s.as_bytes());
    } else if value.is_instance_of::<PyInt>() {
        let i: i64 = value
            .extract()
            .map_err(|_| NotEncodable("an int attribute outside int64".into()))?;
        w.uint64(3, i as u64);
    } else if let Ok(f) = value.cast::<PyFloat>() {
        w.fixed64(4, f.value().to_bits());
    } else if let Ok(b) = value.cast::<PyBytes>() {
        w.bytes(7, b.as_bytes());
    } else if value.is_exact_instance_of::<PyTuple>() || value.is_exact_instance_of::<PyList>() {
        let array = w.begin(5);
        for element in value.try_iter()? {
            let element = element?;
            let nested = w.begin(1);
            any_value(w, &element)?;
            w.end(nested);
        }
        w.end(array);
    } else if value.is_exact_instance_of::<PyDict>() {
        let list = w.begin(6);
        key_values(w, 1, exact_dict(value)?)?;
        w.end(list);
    } else {
        return not_encodable(format!(
            "an attribute value of type {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ));
    }
    Ok(())
}

/// `otlp_spool._native.encode_spans(spans)`: the bytes [`encode_spans`] makes (what the
/// official `encode_spans(spans).SerializeToString()` makes); raises `TypeError` with the
/// reason when the batch is not natively encodable.
#[pyfunction]
#[pyo3(name = "encode_spans")]
pub(crate) fn encode_spans_py<'py>(spans: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = encode_spans(spans).map_err(|e| PyTypeError::new_err(e.0))?;
    Ok(PyBytes::new(spans.py(), &bytes))
}

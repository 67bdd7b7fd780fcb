//! OTLP `AnyValue`s and attribute lists as display text: strings as they are, numbers and
//! booleans in their usual form, bytes as hex, arrays and key-value lists in a JSON-like form
//! (`[1, "a"]`, `{k: v}`). Used by every page, whether the value came from prost (detail pages)
//! or straight from an Arrow column (lists, chart series keys).

use std::fmt::Write as _;

use otlp_spool_core::proto::common::v1::any_value::Value;
use otlp_spool_core::proto::common::v1::{AnyValue, KeyValue};

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A float as people read it (`1.5`, `3`, `NaN`, `inf`).
pub(crate) fn float(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Display text of an AnyValue; `None` (absent) is empty.
pub fn any_value(value: Option<&AnyValue>) -> String {
    let mut out = String::new();
    write_value(&mut out, value.and_then(|v| v.value.as_ref()), false);
    out
}

/// `key=value` pairs of an attribute list, in their order.
pub(crate) fn attributes(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
        .collect()
}

/// The string value of attribute `key`, if it is a string.
pub(crate) fn string_attribute<'a>(kvs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    kvs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn write_value(out: &mut String, value: Option<&Value>, nested: bool) {
    match value {
        None => {}
        Some(Value::StringValue(s)) if nested => {
            let _ = write!(out, "{s:?}");
        }
        Some(Value::StringValue(s)) => out.push_str(s),
        Some(Value::BoolValue(b)) => {
            let _ = write!(out, "{b}");
        }
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => out.push_str(&float(*d)),
        Some(Value::BytesValue(b)) => {
            out.push_str("0x");
            out.push_str(&hex(b));
        }
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for (i, v) in a.values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v.value.as_ref(), true);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(l)) => {
            out.push('{');
            for (i, kv) in l.values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&kv.key);
                out.push_str(": ");
                write_value(out, kv.value.as_ref().and_then(|v| v.value.as_ref()), true);
            }
            out.push('}');
        }
        Some(Value::StringValueStrindex(i)) => {
            let _ = write!(out, "<string #{i}>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otlp_spool_core::proto::common::v1::{ArrayValue, KeyValueList};

    fn v(value: Value) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    #[test]
    fn renders_every_kind() {
        let check = |value: Value, want: &str| assert_eq!(any_value(Some(&v(value))), want);
        check(Value::StringValue("GET /".into()), "GET /");
        check(Value::IntValue(-3), "-3");
        check(Value::DoubleValue(2.0), "2");
        check(Value::DoubleValue(0.25), "0.25");
        check(Value::BoolValue(true), "true");
        check(Value::BytesValue(vec![0xde, 0xad]), "0xdead");
        check(
            Value::ArrayValue(ArrayValue {
                values: vec![v(Value::StringValue("a".into())), v(Value::IntValue(1))],
            }),
            "[\"a\", 1]",
        );
        check(
            Value::KvlistValue(KeyValueList {
                values: vec![KeyValue {
                    key: "k".into(),
                    value: Some(v(Value::BoolValue(false))),
                    ..Default::default()
                }],
            }),
            "{k: false}",
        );
        assert_eq!(any_value(None), "");
    }
}

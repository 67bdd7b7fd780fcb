//! Trace and span ids as lowercase hex text.
//!
//! Ids of any length round-trip: OTLP says trace ids are 16 bytes and span ids 8 bytes, but a
//! receiver may pass other lengths through, so the converter neither pads nor rejects them. An
//! empty id (the OTLP "absent" id, e.g. a root span's `parent_span_id`) is the empty string,
//! never null. Reading accepts upper- and lowercase hex; writing always emits lowercase.

use std::fmt::Write as _;

use arrow_array::builder::StringBuilder;

use super::ConvertError;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as one lowercase hex value, without allocating.
pub(crate) fn append_hex(builder: &mut StringBuilder, bytes: &[u8]) {
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (i, &b) in chunk.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        if let Ok(text) = std::str::from_utf8(&buf[..2 * chunk.len()]) {
            // Writing into a StringBuilder cannot fail.
            let _ = builder.write_str(text);
        }
    }
    builder.append_value("");
}

/// Decodes hex text (either case) back into bytes.
pub(crate) fn decode_hex(text: &str, column: &str, row: usize) -> Result<Vec<u8>, ConvertError> {
    let bad = |reason: &str| ConvertError::InvalidValue {
        column: column.to_string(),
        row,
        reason: format!("{reason}: {text:?}"),
    };
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(bad("hex id has an odd number of digits"));
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Err(bad("hex id has a non-hex digit")),
        }
    }
    Ok(out)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

//! Trace and span ids as lowercase hex text.
//!
//! Ids of any length round-trip: OTLP says trace ids are 16 bytes and span ids 8 bytes, but a
//! receiver may pass other lengths through, so the converter neither pads nor rejects them. An
//! empty id (the OTLP "absent" id, e.g. a root span's `parent_span_id`) is the empty string,
//! never null. Reading accepts upper- and lowercase hex; writing (`ByteColumn::push_hex`) always
//! emits lowercase.

use super::ConvertError;

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

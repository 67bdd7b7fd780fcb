//! The receiver's OTLP/JSON decode (`decode_request` with `application/json`), all three
//! signals: the first byte picks the signal, the rest is the body. Whatever the bytes, it
//! returns a decoded request of that signal or an error with a message; it never panics and
//! never overflows the stack (serde_json stops nesting at 128 levels).

#![no_main]

use libfuzzer_sys::fuzz_target;
use otlp_spool_receiver::{Encoding, Format, Limits, Signal, decode_request};

const MAX_BODY: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let signal = Signal::ALL[usize::from(selector) % 3];
    let body = bytes::Bytes::copy_from_slice(body);
    let limits = Limits::default().with_max_body_bytes(MAX_BODY);
    match decode_request(signal, Format::Json, Encoding::Identity, body, &limits) {
        Ok(decoded) => {
            assert_eq!(decoded.telemetry.signal(), signal);
            // Validation leaves no item with an invalid id behind, and counts what it removed.
            let _ = decoded.telemetry.item_count();
            assert_eq!(decoded.refused.is_empty(), decoded.refused.count == 0);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

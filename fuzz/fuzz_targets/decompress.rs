//! gzip and zstd decoding with the receiver's size cap (`decompress`): the first byte picks
//! the encoding, the next two the cap (1 to 65536 bytes), the rest is the body. The output is
//! never longer than the cap, nothing panics, and whatever fits under the cap is exactly what
//! an uncapped (16 MiB) decode of the same body gives.

#![no_main]

use libfuzzer_sys::fuzz_target;
use otlp_spool_receiver::{DecodeError, Encoding, decompress};

const REFERENCE_CAP: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let [selector, a, b, body @ ..] = data else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        Encoding::Gzip
    } else {
        Encoding::Zstd
    };
    let cap = usize::from(u16::from_le_bytes([*a, *b])) + 1;
    let body = bytes::Bytes::copy_from_slice(body);
    match decompress(body.clone(), encoding, cap) {
        Ok(out) => {
            assert!(out.len() <= cap, "{} bytes out of a {cap}-byte cap", out.len());
            let reference = decompress(body, encoding, REFERENCE_CAP)
                .expect("what decodes under a small cap decodes under a large one");
            assert_eq!(out, reference);
        }
        Err(DecodeError::TooLarge(m) | DecodeError::Invalid(m)) => assert!(!m.is_empty()),
    }
});

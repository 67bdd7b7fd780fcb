//! The wire reader against prost: on any bytes, reading every field succeeds exactly when prost
//! can skip them all as unknown fields, and the values read re-encode to the same bytes.

use otlp_spool_core::wire::{Reader, Value, WireErrorKind, WireType, put_tag, put_varint};
use proptest::prelude::*;
use prost::Message;

/// A message with no known fields: prost skips everything it is given.
#[derive(Clone, PartialEq, prost::Message)]
struct Nothing {}

fn reencode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for field in Reader::new(bytes) {
        let field = field.ok()?;
        match field.value {
            Value::Varint(v) => {
                put_tag(&mut out, field.number, WireType::Varint);
                put_varint(&mut out, v);
            }
            Value::Fixed64(v) => {
                put_tag(&mut out, field.number, WireType::Fixed64);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Fixed32(v) => {
                put_tag(&mut out, field.number, WireType::Fixed32);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Len(payload) => {
                put_tag(&mut out, field.number, WireType::Len);
                put_varint(&mut out, payload.len() as u64);
                out.extend_from_slice(payload);
            }
            Value::Group(body) => {
                put_tag(&mut out, field.number, WireType::StartGroup);
                out.extend_from_slice(body);
                put_tag(&mut out, field.number, WireType::EndGroup);
            }
        }
    }
    Some(out)
}

/// Field-shaped noise: mostly valid tags and values, sometimes not.
fn fieldish() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        (1u32..40, any::<u64>()).prop_map(|(n, v)| {
            let mut out = Vec::new();
            put_tag(&mut out, n, WireType::Varint);
            put_varint(&mut out, v);
            out
        }),
        (1u32..40, proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|(n, p)| {
            let mut out = Vec::new();
            put_tag(&mut out, n, WireType::Len);
            put_varint(&mut out, p.len() as u64);
            out.extend_from_slice(&p);
            out
        }),
        (1u32..40).prop_map(|n| {
            let mut out = Vec::new();
            put_tag(&mut out, n, WireType::StartGroup);
            out
        }),
        (1u32..40).prop_map(|n| {
            let mut out = Vec::new();
            put_tag(&mut out, n, WireType::EndGroup);
            out
        }),
        proptest::collection::vec(any::<u8>(), 1..6),
    ];
    proptest::collection::vec(field, 0..12).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn reading_succeeds_exactly_when_prost_skips(bytes in fieldish()) {
        let ours = reencode(&bytes);
        let prost_ok = Nothing::decode(&bytes[..]).is_ok();
        prop_assert_eq!(ours.is_some(), prost_ok, "bytes {:02x?}", bytes);
        if let Some(out) = ours {
            // Re-encoding is exact unless a varint was written non-minimally.
            if out.len() == bytes.len() {
                prop_assert_eq!(out, bytes);
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let ours = reencode(&bytes).is_some();
        prop_assert_eq!(ours, Nothing::decode(&bytes[..]).is_ok(), "bytes {:02x?}", bytes);
    }
}

/// `read_len` on lengths of one, two and three varint bytes (its inline path takes one and
/// two), a non-minimal two-byte length, and payloads or lengths cut short: the payload read
/// is the one written, and a cut is `Truncated` at the field's tag.
#[test]
fn read_len_across_length_sizes_and_cuts() {
    for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut bytes = vec![0x0a];
        put_varint(&mut bytes, len as u64);
        bytes.extend_from_slice(&payload);
        bytes.push(0x10); // a next field, so a wrong end position shows
        bytes.push(0x01);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.next_tag().unwrap(), Some(0x0a));
        assert_eq!(r.read_len().unwrap(), payload.as_slice(), "length {len}");
        assert_eq!(r.next_tag().unwrap(), Some(0x10), "length {len}");
        // Cuts inside the length, right after it, and inside the payload are refused.
        let header = 1 + (bytes.len() - 3 - len);
        for cut in [2, header, header + len / 2] {
            if cut >= header + len {
                continue;
            }
            let mut r = Reader::new(&bytes[..cut]);
            assert_eq!(r.next_tag().unwrap(), Some(0x0a));
            let e = r.read_len().unwrap_err();
            let found = (e.kind, e.offset);
            assert_eq!(
                found,
                (WireErrorKind::Truncated, 0),
                "length {len}, cut {cut}"
            );
        }
    }
    // A two-byte length that is not minimal (0x80 0x00 is 0), as prost accepts it.
    let mut r = Reader::new(&[0x0a, 0x80, 0x00, 0x10, 0x01]);
    assert_eq!(r.next_tag().unwrap(), Some(0x0a));
    assert_eq!(r.read_len().unwrap(), &[] as &[u8]);
    assert_eq!(r.next_tag().unwrap(), Some(0x10));
    // A length whose second byte is missing.
    let mut r = Reader::new(&[0x0a, 0x80]);
    assert_eq!(r.next_tag().unwrap(), Some(0x0a));
    assert_eq!(r.read_len().unwrap_err().kind, WireErrorKind::Truncated);
}

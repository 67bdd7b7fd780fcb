//! The UTF-8 check of every protobuf string the walkers read (keys, values, names).

/// Whether `bytes` are UTF-8, as `std::str::from_utf8` decides.
///
/// Nearly every string of a request is short ASCII (attribute keys and values, names), and
/// `<[u8]>::is_ascii` is a call that walks them in a loop: strings of up to 16 bytes are
/// checked inline here with one or two overlapping word loads, and only a string that is
/// not ASCII (or is longer) goes on to the full check.
#[inline(always)]
pub fn is_utf8(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let ascii = match n {
        0..=3 => bytes.iter().all(|&b| b < 0x80),
        4..=7 => (word4(bytes) | word4(&bytes[n - 4..])) & 0x8080_8080 == 0,
        8..=16 => (word8(bytes) | word8(&bytes[n - 8..])) & 0x8080_8080_8080_8080 == 0,
        _ => bytes.is_ascii(),
    };
    ascii || std::str::from_utf8(bytes).is_ok()
}

/// The first four bytes of `b` (at least four) as one word.
#[inline(always)]
fn word4(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

/// The first eight bytes of `b` (at least eight) as one word.
#[inline(always)]
fn word8(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::is_utf8;

    /// Every length from 0 to 40, with one high byte at every position (a lone continuation
    /// byte, invalid; and the first byte of a valid two-byte character), agrees with std.
    #[test]
    fn agrees_with_from_utf8_at_every_length_and_position() {
        for n in 0..=40 {
            let ascii = vec![b'a'; n];
            assert!(is_utf8(&ascii), "ascii of {n}");
            for at in 0..n {
                let mut lone = ascii.clone();
                lone[at] = 0x80;
                assert!(!is_utf8(&lone), "lone continuation at {at} of {n}");
                if at + 1 < n {
                    let mut two = ascii.clone();
                    two[at] = 0xc3;
                    two[at + 1] = 0xa9;
                    assert!(is_utf8(&two), "é at {at} of {n}");
                    let mut cut = ascii.clone();
                    cut[at + 1] = 0xc3;
                    assert_eq!(
                        is_utf8(&cut),
                        std::str::from_utf8(&cut).is_ok(),
                        "lead byte at {} of {n}",
                        at + 1
                    );
                }
            }
        }
    }
}

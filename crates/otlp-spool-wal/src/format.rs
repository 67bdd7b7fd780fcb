//! The on-disk format: segment headers, record frames, cursor files, file names.
//!
//! All integers are little-endian; every checksum is CRC-32 (IEEE, `crc32fast`).
//!
//! ```text
//! segment file  <dir>/seg-<first lsn, 20 decimal digits>.wal
//!   header (32 bytes)
//!     0  magic      b"OSPWALS\0"
//!     8  version    u16 = 1
//!    10  hdr_len    u16 = 32
//!    12  flags      u32   bit 0: recycled (a consumed segment's file, reused: the bytes
//!                         after the valid content are an earlier segment's records, whose
//!                         LSNs are all below first_lsn); other bits 0
//!    16  first_lsn  u64   LSN the segment's first record has (or will have)
//!    24  reserved   u32 = 0
//!    28  crc        u32   CRC of bytes 0..28
//!   spare file  <dir>/spare-<first lsn of the segment it was, 20 digits>: a consumed
//!   segment kept (at most MAX_SPARE_SEGMENTS) to be renamed into the next segment; never read
//!   records, back to back, each:
//!     0  len        u32   payload length
//!     4  data_crc   u32   CRC of the payload
//!     8  lsn        u64   strictly greater than the previous record's, across segments
//!    16  signal     u8    1 traces, 2 metrics, 3 logs (0 is never written)
//!    17  flags      u8 = 0
//!    18  reserved   u16 = 0
//!    20  head_crc   u32   CRC of bytes 0..20 of this header
//!    24  payload    len bytes
//!
//! cursor file   <dir>/cursors/<name>.pos, 8192 bytes: two slots of 4096 bytes
//!   created whole as .<name>.tmp, fsynced, renamed, directory fsynced; then updated in place,
//!   each update into the slot of its sequence number (seq % 2), then fdatasync
//!   slot
//!     0  magic      b"OSPWALC\0"
//!     8  version    u16 = 1
//!    10  reserved   u16 = 0
//!    12  data_len   u32   length of the opaque payload (at most 4000)
//!    16  seq        u64   update number: the valid slot with the higher one is current
//!    24  lsn        u64   durable position: every record with an LSN <= lsn is consumed
//!    32  skipped_records u64, 40 skipped_bytes u64   (cumulative, see `Cursor::skip_to`)
//!    48  payload    data_len bytes
//!     .  crc        u32   CRC of the slot's bytes before it; zeros to the end of the slot
//! ```
//!
//! A record header carries its own checksum so that a scan can trust a length before it reads
//! the payload, and can look for the next good record after a damaged one (`find_next`)
//! without being misled by a corrupt length.
//!
//! Why cursor updates overwrite a slot instead of renaming a new file over the old one: a
//! rename needs a new block for every update, so on a full disk a consumer could not record
//! its progress, and its progress is what frees segments. An in-place overwrite of a block
//! that was allocated (and synced) at creation needs no space on a file system that overwrites
//! in place (ext4, xfs, tmpfs; not a copy-on-write one), costs one `fdatasync` instead of two
//! `fsync`s, and stays atomic: the two slots sit in separate 4 KiB blocks, an update never
//! touches the slot of the state before it, and a torn update fails its checksum, leaving the
//! previous state current.

use otlp_spool_core::Signal;

/// Magic bytes opening every segment.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"OSPWALS\0";
/// Magic bytes opening every cursor file.
pub(crate) const CURSOR_MAGIC: [u8; 8] = *b"OSPWALC\0";
/// The one format version this crate writes and reads.
pub(crate) const VERSION: u16 = 1;
/// Size of a segment header.
pub const SEGMENT_HEADER_LEN: usize = 32;
/// Size of a record header (the frame around each payload).
pub const RECORD_HEADER_LEN: usize = 24;
/// Size of one slot of a cursor file (which holds two).
pub(crate) const CURSOR_SLOT_LEN: usize = 4096;
/// Fixed part of a cursor slot (without payload and CRC).
const CURSOR_FIXED_LEN: usize = 48;
/// Largest cursor payload accepted by `Cursor::commit`.
pub const MAX_CURSOR_PAYLOAD: usize = 4000;
/// Folder of the cursor files inside the log directory.
pub(crate) const CURSOR_DIR: &str = "cursors";
/// The lock file inside the log directory.
pub(crate) const LOCK_FILE: &str = "wal.lock";

/// The on-disk tag of a signal.
pub(crate) fn signal_tag(signal: Signal) -> u8 {
    match signal {
        Signal::Traces => 1,
        Signal::Metrics => 2,
        Signal::Logs => 3,
    }
}

/// The signal of an on-disk tag, if it is one.
pub(crate) fn tag_signal(tag: u8) -> Option<Signal> {
    match tag {
        1 => Some(Signal::Traces),
        2 => Some(Signal::Metrics),
        3 => Some(Signal::Logs),
        _ => None,
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// CRC-32 of `bytes`.
pub(crate) fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Segment header flag: the file is a recycled one (see the format above).
pub(crate) const FLAG_RECYCLED: u32 = 1;

/// A parsed segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) first_lsn: u64,
    /// Bytes after the valid content are expected (an earlier life of the file), not damage.
    pub(crate) recycled: bool,
}

/// The header of a segment whose first record has `first_lsn`.
pub(crate) fn segment_header(first_lsn: u64, recycled: bool) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h[10..12].copy_from_slice(&(SEGMENT_HEADER_LEN as u16).to_le_bytes());
    let flags = if recycled { FLAG_RECYCLED } else { 0 };
    h[12..16].copy_from_slice(&flags.to_le_bytes());
    h[16..24].copy_from_slice(&first_lsn.to_le_bytes());
    let c = crc(&h[0..28]);
    h[28..32].copy_from_slice(&c.to_le_bytes());
    h
}

/// Why a segment header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadHeader {
    /// Shorter than a header: a creation cut short.
    Short,
    /// All zeros: created, header never reached the disk.
    Zeroed,
    /// Wrong magic, version or checksum.
    Invalid,
}

/// Parses a segment header, returning its `first_lsn`.
pub(crate) fn parse_segment_header(bytes: &[u8]) -> Result<SegmentHeader, BadHeader> {
    if bytes.len() < SEGMENT_HEADER_LEN {
        return Err(BadHeader::Short);
    }
    let h = &bytes[..SEGMENT_HEADER_LEN];
    if h.iter().all(|&b| b == 0) {
        return Err(BadHeader::Zeroed);
    }
    if h[0..8] != SEGMENT_MAGIC
        || u16_at(h, 8) != VERSION
        || usize::from(u16_at(h, 10)) != SEGMENT_HEADER_LEN
        || crc(&h[0..28]) != u32_at(h, 28)
    {
        return Err(BadHeader::Invalid);
    }
    Ok(SegmentHeader {
        first_lsn: u64_at(h, 16),
        recycled: u32_at(h, 12) & FLAG_RECYCLED != 0,
    })
}

/// Appends one framed record to `out`. `data_crc` is `crc(payload)`, computed by the caller
/// (outside any lock).
pub(crate) fn encode_record(
    out: &mut Vec<u8>,
    lsn: u64,
    signal: Signal,
    payload: &[u8],
    data_crc: u32,
) {
    let mut h = [0u8; RECORD_HEADER_LEN];
    let len = u32::try_from(payload.len()).expect("record length checked against max_record_bytes");
    h[0..4].copy_from_slice(&len.to_le_bytes());
    h[4..8].copy_from_slice(&data_crc.to_le_bytes());
    h[8..16].copy_from_slice(&lsn.to_le_bytes());
    h[16] = signal_tag(signal);
    let c = crc(&h[0..20]);
    h[20..24].copy_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
}

/// A record header that passed its own checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) len: u32,
    pub(crate) data_crc: u32,
    pub(crate) lsn: u64,
    pub(crate) signal: Signal,
}

impl RecordHeader {
    /// Bytes the framed record takes on disk.
    pub(crate) fn framed_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.len)
    }
}

/// Parses the record header at the start of `bytes` (at least [`RECORD_HEADER_LEN`] long):
/// `None` unless its checksum, tag and reserved bytes are right and its length is at most
/// `max_len`.
pub(crate) fn parse_record_header(bytes: &[u8], max_len: u32) -> Option<RecordHeader> {
    let h = bytes.get(..RECORD_HEADER_LEN)?;
    let len = u32_at(h, 0);
    if len > max_len || h[17] != 0 || h[18] != 0 || h[19] != 0 {
        return None;
    }
    let signal = tag_signal(h[16])?;
    if crc(&h[0..20]) != u32_at(h, 20) {
        return None;
    }
    Some(RecordHeader {
        len,
        data_crc: u32_at(h, 4),
        lsn: u64_at(h, 8),
        signal,
    })
}

/// A complete, checksummed record found in a byte range by [`check_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) header: RecordHeader,
    /// Offset of the payload inside the scanned bytes.
    pub(crate) payload_at: usize,
}

/// Checks the record starting at `data[at..]`: its header, that its LSN is at least
/// `min_lsn`, that it is complete inside `data`, and its payload checksum.
pub(crate) fn check_record(data: &[u8], at: usize, min_lsn: u64, max_len: u32) -> Option<Found> {
    let header = parse_record_header(data.get(at..)?, max_len)?;
    if header.lsn < min_lsn {
        return None;
    }
    let payload_at = at + RECORD_HEADER_LEN;
    let end = payload_at.checked_add(header.len as usize)?;
    let payload = data.get(payload_at..end)?;
    (crc(payload) == header.data_crc).then_some(Found { header, payload_at })
}

/// The offset of the first complete, checksummed record after `from` (exclusive) whose LSN is
/// at least `min_lsn`: where a scan resumes after a damaged record.
pub(crate) fn find_next(data: &[u8], from: usize, min_lsn: u64, max_len: u32) -> Option<usize> {
    let last = data.len().checked_sub(RECORD_HEADER_LEN)?;
    (from + 1..=last).find(|&at| check_record(data, at, min_lsn, max_len).is_some())
}

/// What [`scan_segment`] found in a segment's bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Offset just after the last good record (where the valid content ends).
    pub(crate) valid_len: u64,
    /// Good records.
    pub(crate) records: u64,
    /// Their framed bytes.
    pub(crate) record_bytes: u64,
    /// LSN of the last good record, if any.
    pub(crate) last_lsn: Option<u64>,
    /// Damaged stretches with good records after them: `(offset, length)`.
    pub(crate) holes: Vec<(u64, u64)>,
}

/// Walks the records of a whole segment file (`data` includes the header), accepting only
/// records whose LSNs strictly increase from `min_lsn` on. A damaged record followed by good
/// ones becomes a hole; damage with nothing good after it ends the valid content.
pub(crate) fn scan_segment(data: &[u8], min_lsn: u64, max_len: u32) -> Scan {
    let mut scan = Scan {
        valid_len: SEGMENT_HEADER_LEN.min(data.len()) as u64,
        ..Scan::default()
    };
    let mut at = SEGMENT_HEADER_LEN;
    let mut next_min = min_lsn;
    while at < data.len() {
        match check_record(data, at, next_min, max_len) {
            Some(found) => {
                let end = found.payload_at + found.header.len as usize;
                scan.records += 1;
                scan.record_bytes += found.header.framed_len();
                scan.last_lsn = Some(found.header.lsn);
                next_min = found.header.lsn + 1;
                at = end;
                scan.valid_len = end as u64;
            }
            None => match find_next(data, at, next_min, max_len) {
                Some(resume) => {
                    scan.holes.push((at as u64, (resume - at) as u64));
                    at = resume;
                }
                None => break,
            },
        }
    }
    scan
}

/// The state a cursor file holds (its current slot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CursorFile {
    pub(crate) seq: u64,
    pub(crate) lsn: u64,
    pub(crate) skipped_records: u64,
    pub(crate) skipped_bytes: u64,
    pub(crate) payload: Vec<u8>,
}

/// What [`CursorFile::decode_file`] found besides the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtherSlot {
    /// Never written, or holding an older valid state.
    Fine,
    /// Neither zeros nor a valid slot: an update that did not complete (or damage).
    Torn,
}

impl CursorFile {
    /// The slot this state is written to.
    pub(crate) fn slot(&self) -> usize {
        (self.seq % 2) as usize
    }

    /// Offset of this state's slot in the file.
    pub(crate) fn slot_offset(&self) -> u64 {
        (self.slot() * CURSOR_SLOT_LEN) as u64
    }

    /// This state as one whole slot.
    pub(crate) fn encode_slot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CURSOR_SLOT_LEN);
        out.extend_from_slice(&CURSOR_MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        let len = u32::try_from(self.payload.len()).expect("payload bounded by MAX_CURSOR_PAYLOAD");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.lsn.to_le_bytes());
        out.extend_from_slice(&self.skipped_records.to_le_bytes());
        out.extend_from_slice(&self.skipped_bytes.to_le_bytes());
        out.extend_from_slice(&self.payload);
        let c = crc(&out);
        out.extend_from_slice(&c.to_le_bytes());
        out.resize(CURSOR_SLOT_LEN, 0);
        out
    }

    /// A whole new cursor file: this state in its slot, the other slot zeros.
    pub(crate) fn encode_file(&self) -> Vec<u8> {
        let mut out = vec![0u8; 2 * CURSOR_SLOT_LEN];
        let at = self.slot() * CURSOR_SLOT_LEN;
        out[at..at + CURSOR_SLOT_LEN].copy_from_slice(&self.encode_slot());
        out
    }

    /// `None` unless `slot` is one whole, checksummed slot.
    fn decode_slot(slot: &[u8]) -> Option<CursorFile> {
        if slot.len() < CURSOR_FIXED_LEN + 4
            || slot[0..8] != CURSOR_MAGIC
            || u16_at(slot, 8) != VERSION
        {
            return None;
        }
        let len = u32_at(slot, 12) as usize;
        if len > MAX_CURSOR_PAYLOAD || CURSOR_FIXED_LEN + len + 4 > slot.len() {
            return None;
        }
        let body = &slot[..CURSOR_FIXED_LEN + len];
        if crc(body) != u32_at(slot, CURSOR_FIXED_LEN + len) {
            return None;
        }
        Some(CursorFile {
            seq: u64_at(slot, 16),
            lsn: u64_at(slot, 24),
            skipped_records: u64_at(slot, 32),
            skipped_bytes: u64_at(slot, 40),
            payload: body[CURSOR_FIXED_LEN..].to_vec(),
        })
    }

    /// The current state of a cursor file (the valid slot with the higher sequence number),
    /// or `None` if neither slot is valid.
    pub(crate) fn decode_file(bytes: &[u8]) -> Option<(CursorFile, OtherSlot)> {
        if bytes.len() != 2 * CURSOR_SLOT_LEN {
            return None;
        }
        let (a, b) = bytes.split_at(CURSOR_SLOT_LEN);
        let zeros = |s: &[u8]| s.iter().all(|&x| x == 0);
        match (CursorFile::decode_slot(a), CursorFile::decode_slot(b)) {
            (Some(x), Some(y)) => Some((if x.seq >= y.seq { x } else { y }, OtherSlot::Fine)),
            (Some(x), None) => Some((
                x,
                if zeros(b) {
                    OtherSlot::Fine
                } else {
                    OtherSlot::Torn
                },
            )),
            (None, Some(y)) => Some((
                y,
                if zeros(a) {
                    OtherSlot::Fine
                } else {
                    OtherSlot::Torn
                },
            )),
            (None, None) => None,
        }
    }
}

/// File name of the segment whose first LSN is `first_lsn`.
pub(crate) fn segment_name(first_lsn: u64) -> String {
    format!("seg-{first_lsn:020}.wal")
}

/// The first LSN named by a segment file name, if it is one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".wal")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// File name of a spare (a consumed segment kept for reuse) that was the segment `first_lsn`.
pub(crate) fn spare_name(first_lsn: u64) -> String {
    format!("spare-{first_lsn:020}")
}

/// Whether `name` names a spare file.
pub(crate) fn is_spare_name(name: &str) -> bool {
    name.strip_prefix("spare-")
        .is_some_and(|digits| digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `name` may name a cursor: 1 to 64 of `[A-Za-z0-9._-]`, not starting with a dot.
pub(crate) fn valid_cursor_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// File name of a cursor's position file.
pub(crate) fn cursor_file_name(name: &str) -> String {
    format!("{name}.pos")
}

/// File name of a cursor's temporary file (before the rename).
pub(crate) fn cursor_temp_name(name: &str) -> String {
    format!(".{name}.tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(lsn: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_record(&mut v, lsn, Signal::Logs, payload, crc(payload));
        v
    }

    fn segment(first: u64, records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut v = segment_header(first, false).to_vec();
        for (lsn, p) in records {
            v.extend(record(*lsn, p));
        }
        v
    }

    #[test]
    fn headers_round_trip_and_refuse_damage() {
        let h = segment_header(42, false);
        assert_eq!(
            parse_segment_header(&h),
            Ok(SegmentHeader {
                first_lsn: 42,
                recycled: false
            })
        );
        assert_eq!(
            parse_segment_header(&segment_header(7, true)),
            Ok(SegmentHeader {
                first_lsn: 7,
                recycled: true
            })
        );
        assert_eq!(parse_segment_header(&h[..10]), Err(BadHeader::Short));
        assert_eq!(parse_segment_header(&[0; 32]), Err(BadHeader::Zeroed));
        let mut bad = h;
        bad[17] ^= 1;
        assert_eq!(parse_segment_header(&bad), Err(BadHeader::Invalid));

        let r = record(7, b"hello");
        let head = parse_record_header(&r, 1024).unwrap();
        assert_eq!((head.len, head.lsn, head.signal), (5, 7, Signal::Logs));
        assert!(parse_record_header(&r, 4).is_none(), "longer than allowed");
        for i in 0..RECORD_HEADER_LEN {
            let mut bad = r.clone();
            bad[i] ^= 0x10;
            assert!(
                check_record(&bad, 0, 0, 1024).is_none(),
                "flip in header byte {i}"
            );
        }
        let mut bad = r.clone();
        bad[RECORD_HEADER_LEN + 1] ^= 1;
        assert!(check_record(&bad, 0, 0, 1024).is_none(), "flip in payload");
        assert!(
            check_record(&r[..r.len() - 1], 0, 0, 1024).is_none(),
            "torn"
        );
    }

    #[test]
    fn a_scan_skips_a_damaged_record_and_stops_at_a_torn_tail() {
        let mut seg = segment(1, &[(1, b"a"), (2, b"bb"), (3, b"ccc")]);
        let second = SEGMENT_HEADER_LEN + RECORD_HEADER_LEN + 1;
        seg[second + RECORD_HEADER_LEN] ^= 0xff; // payload of record 2
        let full = seg.len() as u64;
        seg.extend_from_slice(&record(4, b"dddd")[..10]); // torn tail
        let scan = scan_segment(&seg, 1, 1024);
        assert_eq!(scan.records, 2);
        assert_eq!(scan.last_lsn, Some(3));
        assert_eq!(scan.valid_len, full);
        assert_eq!(
            scan.holes,
            vec![(second as u64, (RECORD_HEADER_LEN + 2) as u64)]
        );
    }

    #[test]
    fn a_scan_refuses_lsns_that_do_not_increase() {
        let seg = segment(5, &[(5, b"a"), (5, b"b"), (6, b"c")]);
        let scan = scan_segment(&seg, 5, 1024);
        assert_eq!(scan.records, 2);
        assert_eq!(scan.last_lsn, Some(6));
        assert_eq!(scan.holes.len(), 1);
        assert_eq!(scan_segment(&seg, 7, 1024).records, 0, "below the floor");
    }

    #[test]
    fn cursor_files_round_trip_and_refuse_damage() {
        let c = CursorFile {
            seq: 7,
            lsn: 9,
            skipped_records: 2,
            skipped_bytes: 300,
            payload: b"pending x".to_vec(),
        };
        let file = c.encode_file();
        assert_eq!(file.len(), 2 * CURSOR_SLOT_LEN);
        assert_eq!(
            CursorFile::decode_file(&file),
            Some((c.clone(), OtherSlot::Fine))
        );
        // The next update goes to the other slot and wins.
        let mut updated = file.clone();
        let next = CursorFile {
            seq: 8,
            lsn: 12,
            ..c.clone()
        };
        let at = next.slot_offset() as usize;
        updated[at..at + CURSOR_SLOT_LEN].copy_from_slice(&next.encode_slot());
        assert_eq!(
            CursorFile::decode_file(&updated),
            Some((next, OtherSlot::Fine))
        );
        // A torn update leaves the previous state current, and says so.
        let mut torn = updated.clone();
        torn[at + 30] ^= 1;
        assert_eq!(
            CursorFile::decode_file(&torn),
            Some((c.clone(), OtherSlot::Torn))
        );
        for i in 0..CURSOR_FIXED_LEN + 13 {
            let mut bad = file.clone();
            bad[c.slot_offset() as usize + i] ^= 4;
            assert_eq!(CursorFile::decode_file(&bad), None, "flip at {i}");
        }
        assert_eq!(CursorFile::decode_file(&file[..file.len() - 1]), None);
    }

    #[test]
    fn names() {
        assert_eq!(segment_name(12), "seg-00000000000000000012.wal");
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_name("seg-12.wal"), None);
        assert_eq!(parse_segment_name("seg-0000000000000000001x.wal"), None);
        assert!(is_spare_name(&spare_name(12)));
        assert_eq!(
            parse_segment_name(&spare_name(12)),
            None,
            "a spare is never a segment"
        );
        assert!(!is_spare_name(&segment_name(12)));
        assert!(valid_cursor_name("forward-otlp_1.a"));
        for bad in ["", ".x", "a/b", "a b", &"x".repeat(65)] {
            assert!(!valid_cursor_name(bad), "{bad:?}");
        }
    }
}

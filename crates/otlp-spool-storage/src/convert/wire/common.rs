//! The messages every signal shares, read from bytes: `KeyValue` and `AnyValue` (with nested
//! arrays and key-value lists re-encoded canonically), `Resource`, `InstrumentationScope`, and
//! the request / resource container / scope container nesting with its entries.
//!
//! Invariant: a nested `ArrayValue` / `KeyValueList` is stored as the bytes prost's `encode`
//! gives for the message prost's `decode` builds from the input (unknown fields dropped,
//! occurrences merged, the last oneof variant kept, minimal varints), so the column equals the
//! prost converter's whatever the input's encoding.

use otlp_spool_core::wire::{decode_varint, put_varint};

use super::super::anyvalue::AnyValueBuilder;
use super::super::attributes::AttributesBuilder;
use super::super::batch::{Batcher, Columns, Sink};
use super::super::columns::Text;
use super::super::resource::{EntityRefsBuilder, ResourceScopeBuilder, index};
use super::{
    Msg, Parts, Res, fields, fixed64, len, next, next_tag, pass, read_len, read_string, string,
    tag, varint,
};

const AT_KV: &str = "key_value";
const AT_ANY: &str = "any_value";
const AT_NESTED: &str = "any_value.array_value|kvlist_value";
const AT_RESOURCE: &str = "resource";
const AT_SCOPE: &str = "scope";

/// The value an `AnyValue` ends up holding.
#[derive(Debug, Clone, Copy)]
enum Kept<'a> {
    Empty,
    Str(Text<'a>),
    Bool(bool),
    Int(i64),
    Double(u64),
    Bytes(&'a [u8]),
    Strindex(i32),
    /// An array (`false`) or key-value list (`true`), whose canonical message encoding is the
    /// tail of the output buffer from the position the scan started at.
    Nested(bool),
}

/// Reads the AnyValue made of `parts`; nested message bodies are written canonically at the
/// end of `out` (starting at its length on entry), scalars are returned.
#[inline]
fn scan_any_value<'a>(parts: &Parts<'a>, out: &mut Vec<u8>) -> Res<Kept<'a>> {
    let start = out.len();
    let mut kept = Kept::Empty;
    match parts.single() {
        Some(m) => scan_any_value_part(m, &mut kept, start, out)?,
        None => parts.each(AT_ANY, |m| scan_any_value_part(m, &mut kept, start, out))?,
    }
    if !matches!(kept, Kept::Nested(_)) {
        out.truncate(start);
    }
    Ok(kept)
}

/// Reads one occurrence of an AnyValue into `kept` (see `scan_any_value`).
#[inline]
fn scan_any_value_part<'a>(
    m: Msg<'a>,
    kept: &mut Kept<'a>,
    start: usize,
    out: &mut Vec<u8>,
) -> Res<()> {
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_ANY)? {
        *kept = match f.number {
            1 => Kept::Str(string(&f, AT_ANY)?),
            2 => Kept::Bool(varint(&f, AT_ANY)? != 0),
            3 => Kept::Int(varint(&f, AT_ANY)? as i64),
            4 => Kept::Double(fixed64(&f, AT_ANY)?),
            7 => Kept::Bytes(len(&f, AT_ANY)?),
            8 => Kept::Strindex(varint(&f, AT_ANY)? as i32),
            5 | 6 => {
                let kvlist = f.number == 6;
                let sub = m.sub(&f, AT_ANY)?;
                if !matches!(*kept, Kept::Nested(k) if k == kvlist) {
                    out.truncate(start);
                    *kept = Kept::Nested(kvlist);
                }
                if kvlist {
                    canon_kvlist_body(sub, out)?;
                } else {
                    canon_array_body(sub, out)?;
                }
                continue;
            }
            _ => {
                m.skip(&f, AT_ANY)?;
                continue;
            }
        };
    }
    Ok(())
}

/// Appends the AnyValue made of `parts` (absent if there are none) to `values`.
#[inline]
pub(crate) fn any_value(
    parts: &Parts<'_>,
    values: &mut AnyValueBuilder,
    scratch: &mut Vec<u8>,
) -> Res<()> {
    if parts.is_empty() {
        values.append_absent();
        return Ok(());
    }
    scratch.clear();
    match scan_any_value(parts, scratch)? {
        Kept::Empty => values.append_empty(),
        Kept::Str(s) => values.append_str(s),
        Kept::Bool(b) => values.append_bool(b),
        Kept::Int(i) => values.append_int(i),
        Kept::Double(bits) => values.append_double(f64::from_bits(bits)),
        Kept::Bytes(b) => values.append_bytes(b),
        Kept::Strindex(i) => values.append_strindex(i),
        Kept::Nested(kvlist) => values.append_nested(kvlist, scratch),
    }
    Ok(())
}

/// Appends `tag`, then what `body` writes, as a length-delimited field.
fn len_field(out: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>) -> Res<()>) -> Res<()> {
    out.push(tag);
    let at = out.len();
    out.push(0);
    body(out)?;
    let n = out.len() - at - 1;
    if n < 0x80 {
        out[at] = n as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        put_varint(&mut prefix, n as u64);
        out.splice(at..=at, prefix);
    }
    Ok(())
}

/// The canonical encoding of an `AnyValue` message made of `parts`.
fn canon_any_value(parts: &Parts<'_>, out: &mut Vec<u8>) -> Res<()> {
    let start = out.len();
    match scan_any_value(parts, out)? {
        Kept::Empty => {}
        Kept::Str(s) => {
            out.push(0x0a);
            put_varint(out, s.bytes().len() as u64);
            out.extend_from_slice(s.bytes());
        }
        Kept::Bool(b) => out.extend_from_slice(&[0x10, u8::from(b)]),
        Kept::Int(i) => {
            out.push(0x18);
            put_varint(out, i as u64);
        }
        Kept::Double(bits) => {
            out.push(0x21);
            out.extend_from_slice(&bits.to_le_bytes());
        }
        Kept::Bytes(b) => {
            out.push(0x3a);
            put_varint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        Kept::Strindex(i) => {
            out.push(0x40);
            put_varint(out, i64::from(i) as u64);
        }
        Kept::Nested(kvlist) => {
            let mut header = vec![if kvlist { 0x32 } else { 0x2a }];
            put_varint(&mut header, (out.len() - start) as u64);
            out.splice(start..start, header);
        }
    }
    Ok(())
}

/// The canonical encoding of the values of one `ArrayValue` occurrence.
fn canon_array_body(m: Msg<'_>, out: &mut Vec<u8>) -> Res<()> {
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_NESTED)? {
        if f.number == 1 {
            let mut value = Parts::new(m, 1);
            value.add(m.sub(&f, AT_NESTED)?);
            len_field(out, 0x0a, |out| canon_any_value(&value, out))?;
        } else {
            m.skip(&f, AT_NESTED)?;
        }
    }
    Ok(())
}

/// The canonical encoding of the values of one `KeyValueList` occurrence.
fn canon_kvlist_body(m: Msg<'_>, out: &mut Vec<u8>) -> Res<()> {
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_NESTED)? {
        if f.number == 1 {
            let kv = m.sub(&f, AT_NESTED)?;
            len_field(out, 0x0a, |out| canon_key_value(kv, out))?;
        } else {
            m.skip(&f, AT_NESTED)?;
        }
    }
    Ok(())
}

/// The fields of one `KeyValue`: key, value occurrences, key_strindex.
#[inline]
fn scan_key_value(m: Msg<'_>) -> Res<(Text<'_>, Parts<'_>, i32)> {
    let mut key = Text::default();
    let mut value = Parts::new(m, 2);
    let mut key_strindex = 0;
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_KV)? {
        match f.number {
            1 => key = string(&f, AT_KV)?,
            2 => value.add(m.sub(&f, AT_KV)?),
            3 => key_strindex = varint(&f, AT_KV)? as i32,
            _ => m.skip(&f, AT_KV)?,
        }
    }
    Ok((key, value, key_strindex))
}

/// The canonical encoding of one `KeyValue`.
fn canon_key_value(m: Msg<'_>, out: &mut Vec<u8>) -> Res<()> {
    let (key, value, key_strindex) = scan_key_value(m)?;
    if !key.bytes().is_empty() {
        out.push(0x0a);
        put_varint(out, key.bytes().len() as u64);
        out.extend_from_slice(key.bytes());
    }
    if !value.is_empty() {
        len_field(out, 0x12, |out| canon_any_value(&value, out))?;
    }
    if key_strindex != 0 {
        out.push(0x18);
        put_varint(out, i64::from(key_strindex) as u64);
    }
    Ok(())
}

/// Appends one `KeyValue` as an entry of the open slot of `attrs`.
#[inline]
pub(crate) fn key_value(
    m: Msg<'_>,
    attrs: &mut AttributesBuilder,
    scratch: &mut Vec<u8>,
) -> Res<()> {
    if key_value_fast(m, attrs) {
        return Ok(());
    }
    let (key, value, key_strindex) = scan_key_value(m)?;
    attrs.push_key(key, key_strindex);
    any_value(&value, attrs.values(), scratch)
}

/// The shape nearly every attribute has, read straight from the bytes: a non-empty key of
/// fewer than 128 bytes, then (or not) one `AnyValue` of fewer than 128 bytes holding one
/// string, bool, int or double (or nothing), and nothing else. Appends it and returns `true`;
/// returns `false`, having appended nothing, for any other encoding (or invalid UTF-8), which
/// the general walk then reads (and refuses) as prost would. Equal by construction: for these
/// bytes prost's decode and the general walk give exactly this key and value.
#[inline(always)]
fn key_value_fast(m: Msg<'_>, attrs: &mut AttributesBuilder) -> bool {
    let b = m.bytes;
    let [0x0a, key_len, ..] = *b else {
        return false;
    };
    let key_end = 2 + usize::from(key_len);
    if key_len >= 0x80 || key_end > b.len() {
        return false;
    }
    let Some(key) = Text::new(&b[2..key_end]) else {
        return false;
    };
    let rest = &b[key_end..];
    if rest.is_empty() {
        attrs.push_key(key, 0);
        attrs.values().append_absent();
        return true;
    }
    // The value: field 2, a sub-message one level down (refused by the walk at budget 0).
    let [0x12, value_len, ref v @ ..] = *rest else {
        return false;
    };
    if value_len >= 0x80 || v.len() != usize::from(value_len) || m.depth == 0 {
        return false;
    }
    match *v {
        [] => {
            attrs.push_key(key, 0);
            attrs.values().append_empty();
        }
        [0x0a, len, ref s @ ..] if len < 0x80 && s.len() == usize::from(len) => {
            let Some(s) = Text::new(s) else {
                return false;
            };
            attrs.push_key(key, 0);
            attrs.values().append_str(s);
        }
        [0x10, flag] if flag < 0x80 => {
            attrs.push_key(key, 0);
            attrs.values().append_bool(flag != 0);
        }
        [0x18, ref int @ ..] => match decode_varint(int) {
            Ok((i, used)) if used == int.len() => {
                attrs.push_key(key, 0);
                attrs.values().append_int(i as i64);
            }
            _ => return false,
        },
        [0x21, ref bits @ ..] if bits.len() == 8 => {
            let mut le = [0u8; 8];
            le.copy_from_slice(bits);
            attrs.push_key(key, 0);
            attrs
                .values()
                .append_double(f64::from_bits(u64::from_le_bytes(le)));
        }
        _ => return false,
    }
    true
}

/// Adds the entry of a resource container whose `resource` occurrences are `parts`.
fn resource_entry(
    rs: &mut ResourceScopeBuilder,
    index: u32,
    parts: &Parts<'_>,
    schema_url: Text<'_>,
    scratch: &mut Vec<u8>,
) -> Res<i32> {
    let mut dropped = None;
    if !parts.is_empty() {
        let mut count = 0;
        parts.each(AT_RESOURCE, |m| {
            let mut r = m.reader();
            while let Some(f) = next(&mut r, AT_RESOURCE)? {
                match f.number {
                    1 => key_value(m.sub(&f, AT_RESOURCE)?, &mut rs.r_attributes, scratch)?,
                    2 => count = varint(&f, AT_RESOURCE)? as u32,
                    3 => entity_ref(m.sub(&f, AT_RESOURCE)?, &mut rs.r_entity_refs)?,
                    _ => m.skip(&f, AT_RESOURCE)?,
                }
            }
            Ok(())
        })?;
        dropped = Some(count);
    }
    rs.r_attributes.close();
    rs.r_entity_refs.close();
    Ok(rs.end_resource(index, dropped, schema_url))
}

/// Appends one `EntityRef` to the open slot of `refs`.
fn entity_ref(m: Msg<'_>, refs: &mut EntityRefsBuilder) -> Res<()> {
    const AT: &str = "resource.entity_refs";
    let (mut schema_url, mut ty) = (Text::default(), Text::default());
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT)? {
        match f.number {
            1 => schema_url = string(&f, AT)?,
            2 => ty = string(&f, AT)?,
            3 => refs.id_keys.push_text(string(&f, AT)?),
            4 => refs.description_keys.push_text(string(&f, AT)?),
            _ => m.skip(&f, AT)?,
        }
    }
    refs.push_ref(schema_url, ty);
    Ok(())
}

/// Adds the entry of a scope container whose `scope` occurrences are `parts`.
fn scope_entry(
    rs: &mut ResourceScopeBuilder,
    resource: i32,
    index: u32,
    parts: &Parts<'_>,
    schema_url: Text<'_>,
    scratch: &mut Vec<u8>,
) -> Res<i32> {
    let mut scope = None;
    if !parts.is_empty() {
        let (mut name, mut version, mut dropped) = (Text::default(), Text::default(), 0);
        parts.each(AT_SCOPE, |m| {
            let mut r = m.reader();
            while let Some(f) = next(&mut r, AT_SCOPE)? {
                match f.number {
                    1 => name = string(&f, AT_SCOPE)?,
                    2 => version = string(&f, AT_SCOPE)?,
                    3 => key_value(m.sub(&f, AT_SCOPE)?, &mut rs.s_attributes, scratch)?,
                    4 => dropped = varint(&f, AT_SCOPE)? as u32,
                    _ => m.skip(&f, AT_SCOPE)?,
                }
            }
            Ok(())
        })?;
        scope = Some((name, version, dropped));
    }
    rs.s_attributes.close();
    Ok(rs.end_scope(resource, index, scope, schema_url))
}

/// The containers of the items being walked: enough to add their entries to any batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Containers<'a> {
    resource_index: u32,
    resource: Parts<'a>,
    resource_schema_url: Text<'a>,
    scope_index: u32,
    scope: Parts<'a>,
    scope_schema_url: Text<'a>,
}

impl Containers<'_> {
    /// The scope key of the next row, adding the resource and scope entries to the batch if
    /// they are not in it (the batch was handed out since the containers started).
    #[inline]
    pub(crate) fn scope_key<C: Columns>(
        &self,
        b: &mut Batcher<C>,
        scratch: &mut Vec<u8>,
    ) -> Res<i32> {
        let resource = match b.resource {
            Some(k) => k,
            None => {
                let k = resource_entry(
                    b.cols.containers(),
                    self.resource_index,
                    &self.resource,
                    self.resource_schema_url,
                    scratch,
                )?;
                *b.resource.insert(k)
            }
        };
        match b.scope {
            Some(k) => Ok(k),
            None => {
                let k = scope_entry(
                    b.cols.containers(),
                    resource,
                    self.scope_index,
                    &self.scope,
                    self.scope_schema_url,
                    scratch,
                )?;
                Ok(*b.scope.insert(k))
            }
        }
    }
}

/// Field paths of one signal's containers, for error messages.
#[derive(Debug)]
pub(crate) struct Paths {
    pub(crate) request: &'static str,
    pub(crate) resource: &'static str,
    pub(crate) scope: &'static str,
}

/// What walks one item (span, metric, log record) of a scope container.
pub(crate) trait Items<C> {
    /// Converts the item `m`, the `position`-th of its scope container; `cx` adds the
    /// containers of each row it appends.
    fn item(
        &mut self,
        b: &mut Batcher<C>,
        cx: &Containers<'_>,
        m: Msg<'_>,
        position: usize,
        sink: &mut Sink<'_>,
    ) -> Res<()>;

    /// The buffer for nested AnyValue encodings.
    fn scratch(&mut self) -> &mut Vec<u8>;
}

/// Columns whose items are one row each, directly in a scope container (spans, log records).
pub(crate) trait RowColumns: Columns {
    /// The per-row scope keys.
    fn scope_keys(&mut self) -> &mut Vec<i32>;
}

/// Walks items that are one row each, with `row` appending the item's own columns.
pub(crate) struct Rows<C> {
    scratch: Vec<u8>,
    row: fn(&mut C, Msg<'_>, &mut Vec<u8>) -> Res<()>,
}

impl<C> Rows<C> {
    pub(crate) fn new(row: fn(&mut C, Msg<'_>, &mut Vec<u8>) -> Res<()>) -> Self {
        Rows {
            scratch: Vec::new(),
            row,
        }
    }
}

impl<C: RowColumns> Items<C> for Rows<C> {
    #[inline]
    fn item(
        &mut self,
        b: &mut Batcher<C>,
        cx: &Containers<'_>,
        m: Msg<'_>,
        _position: usize,
        sink: &mut Sink<'_>,
    ) -> Res<()> {
        let key = cx.scope_key(b, &mut self.scratch)?;
        b.cols.scope_keys().push(key);
        (self.row)(&mut b.cols, m, &mut self.scratch)?;
        Ok(b.after_row(sink)?)
    }

    fn scratch(&mut self) -> &mut Vec<u8> {
        &mut self.scratch
    }
}

/// Walks a request `Export*ServiceRequest { repeated Resource* = 1 }` whose resource containers
/// are `{ resource = 1; repeated Scope* = 2; schema_url = 3 }` and scope containers
/// `{ scope = 1; repeated item = 2; schema_url = 3 }` (the same numbers for all three signals).
pub(crate) fn push<C: Columns>(
    b: &mut Batcher<C>,
    request: &[u8],
    paths: &Paths,
    items: &mut impl Items<C>,
    sink: &mut Sink<'_>,
) -> Res<()> {
    let root = Msg::root(request);
    let mut r = root.reader();
    while let Some(f) = next(&mut r, paths.request)? {
        if f.number == 1 {
            resource_container(b, root.sub(&f, paths.request)?, paths, items, sink)?;
        } else {
            root.skip(&f, paths.request)?;
        }
    }
    Ok(())
}

/// The fields of a container: its header message occurrences, its schema url, and whether it
/// has items (field 2).
fn scan_container<'a>(m: Msg<'a>, at: &'static str) -> Res<(Parts<'a>, Text<'a>, bool)> {
    const HEADER: u32 = tag(1, 2);
    const ITEMS: u32 = tag(2, 2);
    const SCHEMA_URL: u32 = tag(3, 2);
    const KNOWN: u32 = fields(&[HEADER, ITEMS, SCHEMA_URL]);
    let mut header = Parts::new(m, 1);
    let mut schema_url = Text::default();
    let mut has_items = false;
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, at)? {
        match t {
            HEADER => header.add(m.read_sub(&mut r, at)?),
            ITEMS => {
                read_len(&mut r, at)?;
                has_items = true;
            }
            SCHEMA_URL => schema_url = read_string(&mut r, at)?,
            _ => m.other(&mut r, t, KNOWN, at)?,
        }
    }
    Ok((header, schema_url, has_items))
}

fn resource_container<C: Columns>(
    b: &mut Batcher<C>,
    m: Msg<'_>,
    paths: &Paths,
    items: &mut impl Items<C>,
    sink: &mut Sink<'_>,
) -> Res<()> {
    let (resource, resource_schema_url, has_scopes) = scan_container(m, paths.resource)?;
    let resource_index = b.next_resource_index()?;
    b.clear_keys();
    let key = resource_entry(
        b.cols.containers(),
        resource_index,
        &resource,
        resource_schema_url,
        items.scratch(),
    )?;
    b.resource = Some(key);
    if has_scopes {
        let mut position = 0;
        let mut r = m.reader();
        while let Some(f) = next(&mut r, paths.resource)? {
            if f.number != 2 {
                continue;
            }
            let scope_index = index(position, "scope_index")?;
            position += 1;
            let sm = m.sub(&f, paths.resource)?;
            prefetch(sm.bytes);
            let (scope, scope_schema_url, has_items) = scan_container(sm, paths.scope)?;
            let cx = Containers {
                resource_index,
                resource,
                resource_schema_url,
                scope_index,
                scope,
                scope_schema_url,
            };
            b.scope = None;
            cx.scope_key(b, items.scratch())?;
            if has_items {
                let mut position = 0;
                // `scan_container` checked every field; field 2 is length-delimited.
                let mut r = sm.reader();
                while let Some(t) = next_tag(&mut r, paths.scope)? {
                    if t == tag(2, 2) {
                        let item = sm.read_sub(&mut r, paths.scope)?;
                        items.item(b, &cx, item, position, sink)?;
                        position += 1;
                    } else {
                        pass(&mut r, t, paths.scope)?;
                    }
                }
            }
            drop_unused_scope(b);
        }
    }
    drop_unused_resource(b);
    Ok(())
}

/// The most of a scope container [`prefetch`] asks for: what the core's L2 cache (1 MiB on
/// this project's machines) holds with room to spare.
const PREFETCH_MAX: usize = 512 << 10;

/// Asks the CPU to start loading a scope container (up to [`PREFETCH_MAX`] bytes) into its
/// caches before `scan_container` reads it.
///
/// The writer converts requests that arrived a while ago, so their bytes are no longer in the
/// core's caches, and the scan reads one tag and length per item, each of which leads to the
/// next: without the hint every item costs a full memory latency, one after the other (the
/// scan took 5.6 % of a saturated server's CPU in `perf`, about 80 ns per span for a few
/// instructions). With it, the loads of the whole container overlap. A hint only: it changes
/// no memory and cannot fault.
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes[..bytes.len().min(PREFETCH_MAX)].chunks(64) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch reads nothing into the program and never faults, whatever the
        // address; this one is inside `bytes` anyway.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// At the end of a scope container: takes its entry out of the batch again if no row of the
/// batch uses it (the container had no rows since the entry was added).
fn drop_unused_scope<C: Columns>(b: &mut Batcher<C>) {
    let Some(key) = b.scope else { return };
    if b.cols.last_row_scope() == Some(key) {
        return;
    }
    let rs = b.cols.containers();
    let mut entries = rs.entries();
    if entries.scopes == key as usize + 1 {
        entries.scopes -= 1;
        rs.truncate(entries);
        b.scope = None;
    }
}

/// At the end of a resource container: takes its entry out again if no scope entry uses it.
fn drop_unused_resource<C: Columns>(b: &mut Batcher<C>) {
    let Some(key) = b.resource else { return };
    let rs = b.cols.containers();
    let mut entries = rs.entries();
    if entries.resources == key as usize + 1 && rs.s_resource.last() != Some(&key) {
        entries.resources -= 1;
        rs.truncate(entries);
        b.resource = None;
    }
}

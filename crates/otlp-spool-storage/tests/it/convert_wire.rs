//! A schema-aware protobuf re-encoder for the differential tests: it parses prost's canonical
//! encoding of an OTLP request and writes it back with mutations that prost decodes to the
//! same message:
//! - unknown fields of every wire type (groups with nested contents included) anywhere;
//! - fields in another order (only the relative order of equal numbers, and of the members
//!   of one oneof, is kept: that is all protobuf gives meaning to);
//! - earlier occurrences of singular scalars with other values (the last one wins);
//! - singular messages split into several occurrences (they merge);
//! - earlier oneof variants that the real one replaces (including message variants with
//!   content, which must still be valid);
//! - explicit default values where prost omits them, empty packed fields;
//! - packed repeated numbers written unpacked, or as several packed runs;
//! - non-minimal varints (tags, lengths and values padded to more bytes).

use otlp_spool_core::wire::{Reader, Value, WireType, put_tag, put_varint};

/// What a field holds.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Varint,
    Fixed64,
    Fixed32,
    Bytes,
    /// A UTF-8 string (its bogus values must stay UTF-8).
    Text,
    Message(fn() -> &'static [Field]),
    PackedVarint,
    PackedFixed64,
}

/// One field of a message schema.
#[derive(Clone, Copy)]
pub(crate) struct Field {
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) repeated: bool,
    /// Presence-tracked (proto3 `optional` or a message): no implicit default.
    pub(crate) optional: bool,
    /// Members of one oneof share a group number (0: none).
    pub(crate) oneof: u8,
}

const fn f(number: u32, kind: Kind) -> Field {
    Field {
        number,
        kind,
        repeated: false,
        optional: matches!(kind, Kind::Message(_)),
        oneof: 0,
    }
}
const fn rep(number: u32, kind: Kind) -> Field {
    Field {
        number,
        kind,
        repeated: true,
        optional: false,
        oneof: 0,
    }
}
const fn opt(number: u32, kind: Kind) -> Field {
    Field {
        number,
        kind,
        repeated: false,
        optional: true,
        oneof: 0,
    }
}
const fn one(number: u32, kind: Kind, group: u8) -> Field {
    Field {
        number,
        kind,
        repeated: false,
        optional: true,
        oneof: group,
    }
}

use Kind::{Bytes, Fixed32, Fixed64, Message as M, PackedFixed64, PackedVarint, Text, Varint};

fn any_value() -> &'static [Field] {
    const F: &[Field] = &[
        one(1, Text, 1),
        one(2, Varint, 1),
        one(3, Varint, 1),
        one(4, Fixed64, 1),
        one(5, M(array_value), 1),
        one(6, M(kvlist), 1),
        one(7, Bytes, 1),
        one(8, Varint, 1),
    ];
    F
}
fn array_value() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(any_value))];
    F
}
fn kvlist() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(key_value))];
    F
}
fn key_value() -> &'static [Field] {
    const F: &[Field] = &[f(1, Text), f(2, M(any_value)), f(3, Varint)];
    F
}
fn scope() -> &'static [Field] {
    const F: &[Field] = &[f(1, Text), f(2, Text), rep(3, M(key_value)), f(4, Varint)];
    F
}
fn entity_ref() -> &'static [Field] {
    const F: &[Field] = &[f(1, Text), f(2, Text), rep(3, Text), rep(4, Text)];
    F
}
fn resource() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(key_value)), f(2, Varint), rep(3, M(entity_ref))];
    F
}

pub(crate) fn traces_request() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(resource_spans))];
    F
}
fn resource_spans() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(resource)), rep(2, M(scope_spans)), f(3, Text)];
    F
}
fn scope_spans() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(scope)), rep(2, M(span)), f(3, Text)];
    F
}
fn span() -> &'static [Field] {
    const F: &[Field] = &[
        f(1, Bytes),
        f(2, Bytes),
        f(3, Text),
        f(4, Bytes),
        f(5, Text),
        f(6, Varint),
        f(7, Fixed64),
        f(8, Fixed64),
        rep(9, M(key_value)),
        f(10, Varint),
        rep(11, M(event)),
        f(12, Varint),
        rep(13, M(link)),
        f(14, Varint),
        f(15, M(status)),
        f(16, Fixed32),
    ];
    F
}
fn event() -> &'static [Field] {
    const F: &[Field] = &[
        f(1, Fixed64),
        f(2, Text),
        rep(3, M(key_value)),
        f(4, Varint),
    ];
    F
}
fn link() -> &'static [Field] {
    const F: &[Field] = &[
        f(1, Bytes),
        f(2, Bytes),
        f(3, Text),
        rep(4, M(key_value)),
        f(5, Varint),
        f(6, Fixed32),
    ];
    F
}
fn status() -> &'static [Field] {
    const F: &[Field] = &[f(2, Text), f(3, Varint)];
    F
}

pub(crate) fn logs_request() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(resource_logs))];
    F
}
fn resource_logs() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(resource)), rep(2, M(scope_logs)), f(3, Text)];
    F
}
fn scope_logs() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(scope)), rep(2, M(log_record)), f(3, Text)];
    F
}
fn log_record() -> &'static [Field] {
    const F: &[Field] = &[
        f(1, Fixed64),
        f(2, Varint),
        f(3, Text),
        f(5, M(any_value)),
        rep(6, M(key_value)),
        f(7, Varint),
        f(8, Fixed32),
        f(9, Bytes),
        f(10, Bytes),
        f(11, Fixed64),
        f(12, Text),
    ];
    F
}

pub(crate) fn metrics_request() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(resource_metrics))];
    F
}
fn resource_metrics() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(resource)), rep(2, M(scope_metrics)), f(3, Text)];
    F
}
fn scope_metrics() -> &'static [Field] {
    const F: &[Field] = &[f(1, M(scope)), rep(2, M(metric)), f(3, Text)];
    F
}
fn metric() -> &'static [Field] {
    const F: &[Field] = &[
        f(1, Text),
        f(2, Text),
        f(3, Text),
        one(5, M(gauge), 1),
        one(7, M(sum), 1),
        one(9, M(histogram), 1),
        one(10, M(exponential_histogram), 1),
        one(11, M(summary), 1),
        rep(12, M(key_value)),
    ];
    F
}
fn gauge() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(number_point))];
    F
}
fn sum() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(number_point)), f(2, Varint), f(3, Varint)];
    F
}
fn histogram() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(histogram_point)), f(2, Varint)];
    F
}
fn exponential_histogram() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(exponential_point)), f(2, Varint)];
    F
}
fn summary() -> &'static [Field] {
    const F: &[Field] = &[rep(1, M(summary_point))];
    F
}
fn number_point() -> &'static [Field] {
    const F: &[Field] = &[
        rep(7, M(key_value)),
        f(2, Fixed64),
        f(3, Fixed64),
        one(4, Fixed64, 1),
        rep(5, M(exemplar)),
        one(6, Fixed64, 1),
        f(8, Varint),
    ];
    F
}
fn histogram_point() -> &'static [Field] {
    const F: &[Field] = &[
        rep(9, M(key_value)),
        f(2, Fixed64),
        f(3, Fixed64),
        f(4, Fixed64),
        opt(5, Fixed64),
        rep(6, PackedFixed64),
        rep(7, PackedFixed64),
        rep(8, M(exemplar)),
        f(10, Varint),
        opt(11, Fixed64),
        opt(12, Fixed64),
    ];
    F
}
fn exponential_point() -> &'static [Field] {
    const F: &[Field] = &[
        rep(1, M(key_value)),
        f(2, Fixed64),
        f(3, Fixed64),
        f(4, Fixed64),
        opt(5, Fixed64),
        f(6, Varint),
        f(7, Fixed64),
        f(8, M(buckets)),
        f(9, M(buckets)),
        f(10, Varint),
        rep(11, M(exemplar)),
        opt(12, Fixed64),
        opt(13, Fixed64),
        f(14, Fixed64),
    ];
    F
}
fn buckets() -> &'static [Field] {
    const F: &[Field] = &[f(1, Varint), rep(2, PackedVarint)];
    F
}
fn summary_point() -> &'static [Field] {
    const F: &[Field] = &[
        rep(7, M(key_value)),
        f(2, Fixed64),
        f(3, Fixed64),
        f(4, Fixed64),
        f(5, Fixed64),
        rep(6, M(quantile)),
        f(8, Varint),
    ];
    F
}
fn quantile() -> &'static [Field] {
    const F: &[Field] = &[f(1, Fixed64), f(2, Fixed64)];
    F
}
fn exemplar() -> &'static [Field] {
    const F: &[Field] = &[
        rep(7, M(key_value)),
        f(2, Fixed64),
        one(3, Fixed64, 1),
        f(4, Bytes),
        f(5, Bytes),
        one(6, Fixed64, 1),
    ];
    F
}

/// A small deterministic generator (xorshift64*), seeded by proptest.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One parsed field value.
#[derive(Clone, Debug)]
enum Node {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(Vec<u8>),
    Message(Vec<(u32, Node)>),
    /// One occurrence of a split message.
    Part(Vec<(u32, Node)>),
    Group(Vec<u8>),
}

fn parse(bytes: &[u8], schema: &'static [Field]) -> Vec<(u32, Node)> {
    Reader::new(bytes)
        .map(|field| {
            let field = field.expect("canonical input parses");
            let kind = schema
                .iter()
                .find(|s| s.number == field.number)
                .map(|s| s.kind);
            let node = match (field.value, kind) {
                (Value::Len(b), Some(Kind::Message(sub))) => Node::Message(parse(b, sub())),
                (Value::Len(b), _) => Node::Len(b.to_vec()),
                (Value::Varint(v), _) => Node::Varint(v),
                (Value::Fixed64(v), _) => Node::Fixed64(v),
                (Value::Fixed32(v), _) => Node::Fixed32(v),
                (Value::Group(b), _) => Node::Group(b.to_vec()),
            };
            (field.number, node)
        })
        .collect()
}

/// Mutation intensity: percent chances of each rewrite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mutations {
    pub(crate) unknown: u64,
    pub(crate) shuffle: u64,
    pub(crate) bogus_earlier: u64,
    pub(crate) split: u64,
    pub(crate) defaults: u64,
    pub(crate) unpack: u64,
    pub(crate) padded_varint: u64,
}

impl Mutations {
    pub(crate) const SOME: Mutations = Mutations {
        unknown: 15,
        shuffle: 50,
        bogus_earlier: 15,
        split: 20,
        defaults: 15,
        unpack: 50,
        padded_varint: 5,
    };
}

/// Re-encodes the canonical `bytes` of a message of `schema` with mutations.
pub(crate) fn mutate(
    bytes: &[u8],
    schema: &'static [Field],
    rng: &mut Rng,
    m: &Mutations,
) -> Vec<u8> {
    let mut out = Vec::new();
    emit(&parse(bytes, schema), schema, false, rng, m, &mut out);
    out
}

fn put_varint_maybe_padded(out: &mut Vec<u8>, v: u64, rng: &mut Rng, m: &Mutations) {
    if rng.chance(m.padded_varint) {
        let mut tmp = Vec::new();
        put_varint(&mut tmp, v);
        if tmp.len() < 10 {
            let extra = 1 + rng.below(10 - tmp.len());
            let last = tmp.len() - 1;
            tmp[last] |= 0x80;
            for i in 0..extra {
                tmp.push(if i + 1 == extra { 0 } else { 0x80 });
            }
        }
        out.extend_from_slice(&tmp);
    } else {
        put_varint(out, v);
    }
}

fn bogus_node(kind: Kind, rng: &mut Rng) -> Node {
    match kind {
        Kind::Varint => Node::Varint(rng.next() >> rng.below(64)),
        Kind::Fixed64 => Node::Fixed64(rng.next()),
        Kind::Fixed32 => Node::Fixed32(rng.next() as u32),
        Kind::Bytes => Node::Len(vec![0xff, 0x00]),
        Kind::Text => Node::Len("bogus \u{e9}".as_bytes().to_vec()),
        // `field 1 = empty message` is valid for every message this schema bogus-fills
        // (array / kvlist values, data points), and exercises their reading.
        Kind::Message(sub) => Node::Message(if matches!(sub()[0].kind, Kind::Message(_)) {
            vec![(1, Node::Message(Vec::new()))]
        } else {
            Vec::new()
        }),
        Kind::PackedVarint | Kind::PackedFixed64 => Node::Len(Vec::new()),
    }
}

fn default_node(kind: Kind) -> Node {
    match kind {
        Kind::Varint => Node::Varint(0),
        Kind::Fixed64 => Node::Fixed64(0),
        Kind::Fixed32 => Node::Fixed32(0),
        _ => Node::Len(Vec::new()),
    }
}

/// The ordering class of a field: equal classes keep their relative order when shuffling.
fn class(number: u32, schema: &[Field]) -> u64 {
    match schema.iter().find(|s| s.number == number) {
        Some(s) if s.oneof != 0 => 1_000_000 + u64::from(s.oneof),
        _ => u64::from(number),
    }
}

/// `part`: the fields are one occurrence of a split message, whose missing fields may be set
/// by another occurrence (so no explicit defaults here: they would override those).
fn emit(
    fields: &[(u32, Node)],
    schema: &'static [Field],
    part: bool,
    rng: &mut Rng,
    m: &Mutations,
    out: &mut Vec<u8>,
) {
    let mut items: Vec<(u32, Node)> = Vec::new();
    for (number, node) in fields {
        let spec = schema.iter().find(|s| s.number == *number);
        if let Some(s) = spec {
            if !s.repeated && rng.chance(m.bogus_earlier) {
                if s.oneof != 0 {
                    // An earlier member of the same oneof that the real one replaces (not
                    // the same message variant: that would merge).
                    let others: Vec<&Field> = schema
                        .iter()
                        .filter(|o| o.oneof == s.oneof)
                        .filter(|o| o.number != s.number || !matches!(o.kind, Kind::Message(_)))
                        .collect();
                    let o = others[rng.below(others.len())];
                    items.push((o.number, bogus_node(o.kind, rng)));
                } else if !matches!(s.kind, Kind::Message(_)) {
                    items.push((*number, bogus_node(s.kind, rng)));
                }
            }
            if let (Kind::Message(_), Node::Message(sub)) = (s.kind, node)
                && !s.repeated
                && sub.len() > 1
                && rng.chance(m.split)
            {
                // Split a singular message into two occurrences that merge.
                let at = 1 + rng.below(sub.len() - 1);
                items.push((*number, Node::Part(sub[..at].to_vec())));
                items.push((*number, Node::Part(sub[at..].to_vec())));
                continue;
            }
        }
        items.push((*number, node.clone()));
    }
    // Explicit defaults for implicit-presence scalars that prost left out.
    for s in schema {
        if !part
            && !s.repeated
            && !s.optional
            && s.oneof == 0
            && !fields.iter().any(|(n, _)| *n == s.number)
            && rng.chance(m.defaults)
        {
            items.insert(rng.below(items.len() + 1), (s.number, default_node(s.kind)));
        }
        if s.repeated
            && matches!(s.kind, Kind::PackedVarint | Kind::PackedFixed64)
            && rng.chance(m.defaults)
        {
            items.push((s.number, Node::Len(Vec::new())));
        }
    }
    if rng.chance(m.shuffle) {
        // A random interleaving of the per-class sequences: each class keeps its order.
        let mut queues: std::collections::BTreeMap<u64, std::collections::VecDeque<(u32, Node)>> =
            Default::default();
        for item in items.drain(..) {
            queues
                .entry(class(item.0, schema))
                .or_default()
                .push_back(item);
        }
        while !queues.is_empty() {
            let keys: Vec<u64> = queues.keys().copied().collect();
            let key = keys[rng.below(keys.len())];
            let queue = queues.get_mut(&key).unwrap();
            items.extend(queue.pop_front());
            if queue.is_empty() {
                queues.remove(&key);
            }
        }
    }
    for (number, node) in &items {
        if rng.chance(m.unknown) {
            unknown_field(out, rng, m);
        }
        let spec = schema.iter().find(|s| s.number == *number);
        match (node, spec.map(|s| s.kind)) {
            (Node::Message(sub) | Node::Part(sub), Some(Kind::Message(sub_schema))) => {
                let mut body = Vec::new();
                let part = matches!(node, Node::Part(_));
                emit(sub, sub_schema(), part, rng, m, &mut body);
                len_field(out, *number, &body, rng, m);
            }
            (Node::Len(packed), Some(kind @ (Kind::PackedVarint | Kind::PackedFixed64)))
                if !packed.is_empty() && rng.chance(m.unpack) =>
            {
                unpack(out, *number, packed, kind, rng, m);
            }
            _ => raw(out, *number, node, rng, m),
        }
    }
    if rng.chance(m.unknown) {
        unknown_field(out, rng, m);
    }
}

fn tag(out: &mut Vec<u8>, number: u32, wire: WireType, rng: &mut Rng, m: &Mutations) {
    if rng.chance(m.padded_varint) {
        let bits = match wire {
            WireType::Varint => 0,
            WireType::Fixed64 => 1,
            WireType::Len => 2,
            WireType::StartGroup => 3,
            WireType::EndGroup => 4,
            WireType::Fixed32 => 5,
        };
        put_varint_maybe_padded(out, (u64::from(number) << 3) | bits, rng, m);
    } else {
        put_tag(out, number, wire);
    }
}

fn len_field(out: &mut Vec<u8>, number: u32, body: &[u8], rng: &mut Rng, m: &Mutations) {
    tag(out, number, WireType::Len, rng, m);
    put_varint_maybe_padded(out, body.len() as u64, rng, m);
    out.extend_from_slice(body);
}

fn raw(out: &mut Vec<u8>, number: u32, node: &Node, rng: &mut Rng, m: &Mutations) {
    match node {
        Node::Varint(v) => {
            tag(out, number, WireType::Varint, rng, m);
            put_varint_maybe_padded(out, *v, rng, m);
        }
        Node::Fixed64(v) => {
            tag(out, number, WireType::Fixed64, rng, m);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Fixed32(v) => {
            tag(out, number, WireType::Fixed32, rng, m);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Len(b) => len_field(out, number, b, rng, m),
        Node::Message(_) | Node::Part(_) => unreachable!("messages are emitted with their schema"),
        Node::Group(b) => {
            tag(out, number, WireType::StartGroup, rng, m);
            out.extend_from_slice(b);
            tag(out, number, WireType::EndGroup, rng, m);
        }
    }
}

/// Writes a packed run as unpacked values, or as several packed runs.
fn unpack(out: &mut Vec<u8>, number: u32, packed: &[u8], kind: Kind, rng: &mut Rng, m: &Mutations) {
    let mut values = Vec::new();
    let mut rest = packed;
    while !rest.is_empty() {
        match kind {
            Kind::PackedFixed64 => {
                let (v, tail) = rest.split_at(8);
                values.push(u64::from_le_bytes(v.try_into().unwrap()));
                rest = tail;
            }
            _ => {
                let (v, used) = otlp_spool_core::wire::decode_varint(rest).unwrap();
                values.push(v);
                rest = &rest[used..];
            }
        }
    }
    let several_runs = rng.chance(50);
    let mut i = 0;
    while i < values.len() {
        let n = if several_runs {
            1 + rng.below(values.len() - i)
        } else {
            1
        };
        let chunk = &values[i..i + n];
        if several_runs {
            let mut body = Vec::new();
            for &v in chunk {
                match kind {
                    Kind::PackedFixed64 => body.extend_from_slice(&v.to_le_bytes()),
                    _ => put_varint(&mut body, v),
                }
            }
            len_field(out, number, &body, rng, m);
        } else {
            let node = match kind {
                Kind::PackedFixed64 => Node::Fixed64(chunk[0]),
                _ => Node::Varint(chunk[0]),
            };
            raw(out, number, &node, rng, m);
        }
        i += n;
    }
}

/// A field number no OTLP message of these signals uses.
fn unknown_number(rng: &mut Rng) -> u32 {
    [50, 99, 1000, 19_000, (1 << 29) - 1][rng.below(5)]
}

fn unknown_field(out: &mut Vec<u8>, rng: &mut Rng, m: &Mutations) {
    let number = unknown_number(rng);
    let node = match rng.below(5) {
        0 => Node::Varint(rng.next()),
        1 => Node::Fixed64(rng.next()),
        2 => Node::Fixed32(rng.next() as u32),
        3 => Node::Len(vec![0xff, 0xfe, 0x00, 0x80]),
        _ => {
            // A group holding a varint, bytes and a nested group.
            let mut body = Vec::new();
            put_tag(&mut body, 1, WireType::Varint);
            put_varint(&mut body, rng.next());
            put_tag(&mut body, 2, WireType::Len);
            put_varint(&mut body, 1);
            body.push(0xff);
            put_tag(&mut body, 3, WireType::StartGroup);
            put_tag(&mut body, 3, WireType::EndGroup);
            Node::Group(body)
        }
    };
    raw(out, number, &node, rng, m);
}

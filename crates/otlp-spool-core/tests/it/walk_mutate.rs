//! Mutations of an encoded request, on a schema-free tree of its fields: unknown fields of
//! every wire type (groups too, some nested to the edge of prost's budget), fields reordered,
//! packed repeated fields split into unpacked ones, fields duplicated or removed, invalid UTF-8
//! written into a payload, and on the bytes: truncation and flipped bits.
//!
//! A length-delimited payload that frames as fields is taken for a message; strings and ids
//! that happen to frame so are mutated as messages too. That is fine: the oracle holds for
//! any bytes, the mutations only make valid-looking inputs likely.

use otlp_spool_core::wire::{Reader, Value, WireType, decode_varint, put_tag, put_varint};
use proptest::prelude::*;

type Fields = Vec<(u32, Node)>;

#[derive(Debug, Clone)]
enum Node {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(Vec<u8>),
    Message(Fields),
    Group(Vec<u8>),
}

/// One mutation; the `at` / `which` numbers pick a node modulo the number of candidates.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    Unknown {
        at: usize,
        number: u32,
        kind: u8,
        seed: u64,
    },
    Shuffle {
        at: usize,
        seed: u64,
    },
    Duplicate {
        at: usize,
        which: usize,
    },
    Remove {
        at: usize,
        which: usize,
    },
    Unpack {
        which: usize,
        fixed: bool,
    },
    BadUtf8 {
        which: usize,
        pos: usize,
        bad: u8,
    },
    Truncate {
        at: usize,
    },
    Flip {
        at: usize,
        mask: u8,
    },
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    let number = prop_oneof![1u32..18, 1000u32..1010, Just((1 << 29) - 1)];
    prop_oneof![
        6 => (any::<usize>(), number, 0u8..6, any::<u64>())
            .prop_map(|(at, number, kind, seed)| Mutation::Unknown { at, number, kind, seed }),
        4 => (any::<usize>(), any::<u64>()).prop_map(|(at, seed)| Mutation::Shuffle { at, seed }),
        3 => (any::<usize>(), any::<usize>())
            .prop_map(|(at, which)| Mutation::Duplicate { at, which }),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(at, which)| Mutation::Remove { at, which }),
        4 => (any::<usize>(), any::<bool>())
            .prop_map(|(which, fixed)| Mutation::Unpack { which, fixed }),
        1 => (any::<usize>(), any::<usize>(), prop_oneof![Just(0xff), Just(0xc3), Just(0xed), Just(0x80)])
            .prop_map(|(which, pos, bad)| Mutation::BadUtf8 { which, pos, bad }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
    ]
}

/// `bytes` with `mutations` applied in order. Bytes that do not frame as fields are mutated
/// at the byte level only.
pub(crate) fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in mutations {
        out = match m {
            Mutation::Truncate { at } => {
                let at = at % (out.len() + 1);
                out[..at].to_vec()
            }
            Mutation::Flip { at, mask } => {
                if !out.is_empty() {
                    let at = at % out.len();
                    out[at] ^= mask;
                }
                out
            }
            structural => match parse(&out) {
                Some(mut tree) => {
                    apply(&mut tree, structural);
                    encode(&tree)
                }
                None => out,
            },
        };
    }
    out
}

fn parse(bytes: &[u8]) -> Option<Fields> {
    let mut out = Vec::new();
    for field in Reader::new(bytes) {
        let field = field.ok()?;
        let node = match field.value {
            Value::Varint(v) => Node::Varint(v),
            Value::Fixed64(v) => Node::Fixed64(v),
            Value::Fixed32(v) => Node::Fixed32(v),
            Value::Group(body) => Node::Group(body.to_vec()),
            Value::Len(p) => match parse(p) {
                Some(fields) if !p.is_empty() => Node::Message(fields),
                _ => Node::Bytes(p.to_vec()),
            },
        };
        out.push((field.number, node));
    }
    Some(out)
}

fn encode(fields: &Fields) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, node) in fields {
        encode_field(&mut out, *number, node);
    }
    out
}

fn encode_field(out: &mut Vec<u8>, number: u32, node: &Node) {
    match node {
        Node::Varint(v) => {
            put_tag(out, number, WireType::Varint);
            put_varint(out, *v);
        }
        Node::Fixed64(v) => {
            put_tag(out, number, WireType::Fixed64);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Fixed32(v) => {
            put_tag(out, number, WireType::Fixed32);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Node::Bytes(b) => len_field(out, number, b),
        Node::Message(fields) => len_field(out, number, &encode(fields)),
        Node::Group(body) => {
            put_tag(out, number, WireType::StartGroup);
            out.extend_from_slice(body);
            put_tag(out, number, WireType::EndGroup);
        }
    }
}

fn len_field(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    put_tag(out, number, WireType::Len);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

fn apply(tree: &mut Fields, mutation: &Mutation) {
    match *mutation {
        Mutation::Unknown {
            at,
            number,
            kind,
            seed,
        } => on_message(tree, at, &mut |fields| {
            let node = unknown(kind, seed);
            let pos = seed as usize % (fields.len() + 1);
            fields.insert(pos, (number, node));
        }),
        Mutation::Shuffle { at, seed } => on_message(tree, at, &mut |fields| {
            let mut state = seed | 1;
            for i in (1..fields.len()).rev() {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                fields.swap(i, (state >> 33) as usize % (i + 1));
            }
        }),
        Mutation::Duplicate { at, which } => on_message(tree, at, &mut |fields| {
            if !fields.is_empty() {
                let i = which % fields.len();
                let copy = fields[i].clone();
                // Sometimes right after, sometimes at the end (a later occurrence wins).
                if which % 2 == 0 {
                    fields.insert(i + 1, copy);
                } else {
                    fields.push(copy);
                }
            }
        }),
        Mutation::Remove { at, which } => on_message(tree, at, &mut |fields| {
            if !fields.is_empty() {
                fields.remove(which % fields.len());
            }
        }),
        Mutation::Unpack { which, fixed } => unpack(tree, which, fixed),
        Mutation::BadUtf8 { which, pos, bad } => on_bytes(tree, which, &mut |b| {
            let pos = pos % (b.len() + 1);
            b.insert(pos, bad);
        }),
        Mutation::Truncate { .. } | Mutation::Flip { .. } => {}
    }
}

/// A field of wire type `kind % 6` (5: a group nested near prost's budget).
fn unknown(kind: u8, seed: u64) -> Node {
    match kind {
        0 => Node::Varint(seed >> (seed % 64)),
        1 => Node::Fixed64(seed),
        2 => Node::Fixed32(seed as u32),
        3 => Node::Bytes(seed.to_le_bytes()[..(seed % 9) as usize].to_vec()),
        4 => Node::Group(nested_groups((seed % 4) as u32, seed & 16 != 0)),
        _ => Node::Group(nested_groups(90 + (seed % 12) as u32, seed & 16 != 0)),
    }
}

/// The body of a group holding `levels` more nested groups (field 7), the innermost holding
/// a varint when `content`.
fn nested_groups(levels: u32, content: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..levels {
        put_tag(&mut out, 7, WireType::StartGroup);
    }
    if content {
        put_tag(&mut out, 1, WireType::Varint);
        put_varint(&mut out, 1);
    }
    for _ in 0..levels {
        put_tag(&mut out, 7, WireType::EndGroup);
    }
    out
}

/// Calls `f` on the `at`-th message (pre-order, the root first, modulo their number).
fn on_message(tree: &mut Fields, at: usize, f: &mut dyn FnMut(&mut Fields)) {
    fn count(fields: &Fields) -> usize {
        1 + fields
            .iter()
            .map(|(_, n)| match n {
                Node::Message(sub) => count(sub),
                _ => 0,
            })
            .sum::<usize>()
    }
    fn visit(
        fields: &mut Fields,
        target: usize,
        seen: &mut usize,
        f: &mut dyn FnMut(&mut Fields),
    ) -> bool {
        if *seen == target {
            f(fields);
            return true;
        }
        *seen += 1;
        fields.iter_mut().any(|(_, n)| match n {
            Node::Message(sub) => visit(sub, target, seen, f),
            _ => false,
        })
    }
    let target = at % count(tree);
    visit(tree, target, &mut 0, f);
}

/// Calls `f` on the payload of the `which`-th leaf length-delimited field.
fn on_bytes(tree: &mut Fields, which: usize, f: &mut dyn FnMut(&mut Vec<u8>)) {
    fn leaves<'t>(fields: &'t mut Fields, out: &mut Vec<&'t mut Vec<u8>>) {
        for (_, node) in fields.iter_mut() {
            match node {
                Node::Bytes(b) => out.push(b),
                Node::Message(sub) => leaves(sub, out),
                _ => {}
            }
        }
    }
    let mut all = Vec::new();
    leaves(tree, &mut all);
    if !all.is_empty() {
        let n = all.len();
        f(all.swap_remove(which % n));
    }
}

/// Splits the `which`-th length-delimited field whose payload is a whole number of fixed64s
/// (`fixed`) or of varints into one field per element, as an unpacked repeated field.
fn unpack(tree: &mut Fields, which: usize, fixed: bool) {
    let elements = |payload: &[u8]| -> Option<Vec<Node>> {
        if fixed {
            payload.len().is_multiple_of(8).then(|| {
                payload
                    .chunks_exact(8)
                    .map(|c| Node::Fixed64(u64::from_le_bytes(c.try_into().unwrap())))
                    .collect()
            })
        } else {
            let mut rest = payload;
            let mut out = Vec::new();
            while !rest.is_empty() {
                let (v, used) = decode_varint(rest).ok()?;
                out.push(Node::Varint(v));
                rest = &rest[used..];
            }
            Some(out)
        }
    };
    fn candidates(fields: &Fields, elements: &dyn Fn(&[u8]) -> Option<Vec<Node>>) -> usize {
        fields
            .iter()
            .map(|(_, n)| match n {
                Node::Bytes(b) => usize::from(elements(b).is_some()),
                Node::Message(sub) => {
                    usize::from(elements(&encode(sub)).is_some()) + candidates(sub, elements)
                }
                _ => 0,
            })
            .sum()
    }
    fn split(
        fields: &mut Fields,
        target: usize,
        seen: &mut usize,
        elements: &dyn Fn(&[u8]) -> Option<Vec<Node>>,
    ) -> bool {
        let mut i = 0;
        while i < fields.len() {
            let payload = match &fields[i].1 {
                Node::Bytes(b) => Some(b.clone()),
                Node::Message(sub) => Some(encode(sub)),
                _ => None,
            };
            if let Some(parts) = payload.as_deref().and_then(elements) {
                if *seen == target {
                    let number = fields[i].0;
                    fields.splice(i..=i, parts.into_iter().map(|n| (number, n)));
                    return true;
                }
                *seen += 1;
            }
            if let Node::Message(sub) = &mut fields[i].1
                && split(sub, target, seen, elements)
            {
                return true;
            }
            i += 1;
        }
        false
    }
    let n = candidates(tree, &elements);
    if n > 0 {
        split(tree, which % n, &mut 0, &elements);
    }
}

//! The one recursive part of the schema, `KeyValue` / `AnyValue` / `ArrayValue` /
//! `KeyValueList`, walked without recursion.
//!
//! An attribute (a `KeyValue` with a scalar value, nearly all of them) is walked flat: a loop
//! over the key-value, a loop over its value. Below an array or key-value list, one loop walks
//! one message at a time, with the enclosing messages kept as frames in the walker's fixed
//! stack. Both read each field with the same [`Walker::step`].
//!
//! Invariants:
//! * Stack use does not depend on the input: entering a nested message pushes a 24-byte frame
//!   into [`Walker::stack`], never a call frame. A value nested 10 000 levels deep costs the
//!   same call stack as a flat one, and is refused at level `max_depth + 1` (or at prost's
//!   100 message levels), whichever comes first.
//! * A frame holds only offsets (where its message ends, how many children it has entered),
//!   so the stack is plain data; a parent's reader is rebuilt from the root payload when its
//!   child ends.
//! * A failure is given its path (`kvlist_value.values[2].value...`) from the frames on the
//!   way out; nothing about paths is recorded on the happy path beyond the child counts.

use super::error::Fail;
use super::{Msg, RECURSION_LIMIT, Reader, WalkErrorKind, Walker, fields, is_utf8, other};

/// Frames one value walk can hold: one per message level, which prost bounds.
pub(super) const STACK: usize = RECURSION_LIMIT as usize;

/// Which message a frame is reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Kind {
    /// `KeyValue`, whose value is at the frame's level.
    #[default]
    KeyValue,
    /// `AnyValue` at the frame's level.
    Any,
    /// `ArrayValue` inside the AnyValue at the frame's level.
    Array,
    /// `KeyValueList` inside the AnyValue at the frame's level.
    KvList,
}

/// One message of a value walk.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Frame {
    kind: Kind,
    /// AnyValue nesting level (see [`Kind`]).
    level: u32,
    /// Children entered so far (the index of the current one, plus one).
    children: u32,
    /// Offset in the request where the message ends.
    end: usize,
}

mod kv {
    super::fields! {
        pub(super)
        KEY = 1 Len "key";
        VALUE = 2 Len "value";
        KEY_STRINDEX = 3 Varint "key_strindex";
    }
}

mod any {
    super::fields! {
        pub(super)
        STRING_VALUE = 1 Len "string_value";
        BOOL_VALUE = 2 Varint "bool_value";
        INT_VALUE = 3 Varint "int_value";
        DOUBLE_VALUE = 4 Fixed64 "double_value";
        ARRAY_VALUE = 5 Len "array_value";
        KVLIST_VALUE = 6 Len "kvlist_value";
        BYTES_VALUE = 7 Len "bytes_value";
        STRING_VALUE_STRINDEX = 8 Varint "string_value_strindex";
    }
}

mod list {
    super::fields! {
        pub(super)
        VALUES = 1 Len "values";
    }
}

/// What one field of a value message asks for.
enum Step {
    /// Nothing more: the field was a scalar, or unknown and skipped.
    Done,
    /// Enter the sub-message in the field: a message of this kind, at this level.
    Enter(Kind, u32),
}

impl Walker {
    /// `KeyValue` whose value is at `level`: the common case (a scalar value) walked flat, one
    /// reader per message; a nested array or list goes to [`value_tree`](Self::value_tree).
    pub(super) fn key_value(&mut self, m: Msg<'_>, level: u32) -> Result<(), Fail> {
        if self.key_value_fast(m, level) {
            return Ok(());
        }
        self.stats.key_values += 1;
        let mut r = m.reader();
        while let Some(tag) = r.next_tag()? {
            if let Step::Enter(_, level) = self.step(&mut r, Kind::KeyValue, level, tag, m.depth)? {
                match self.any_value(m, &mut r, level) {
                    Ok(()) => {}
                    Err(e) => return Err(e.at("value", None)),
                }
            }
        }
        Ok(())
    }

    /// The shape nearly every attribute has, checked straight from the bytes: a key of fewer
    /// than 128 bytes, then a value of fewer than 128 bytes that is empty or holds exactly one
    /// string (< 128 bytes), bool, int or string index (one-byte varints) or double, and
    /// nothing else, with the value's level within the limits. Returns `false` (having
    /// changed nothing) for any other encoding, an invalid UTF-8 string included, which the
    /// general walk then reads, refuses and explains; on `true` the stats are what the general
    /// walk would have counted.
    #[inline(always)]
    fn key_value_fast(&mut self, m: Msg<'_>, level: u32) -> bool {
        const KEY: u8 = 0x0A; // field 1, length-delimited
        const VALUE: u8 = 0x12; // field 2, length-delimited
        const STRING: u8 = 0x0A;
        const BOOL: u8 = 0x10;
        const INT: u8 = 0x18;
        const DOUBLE: u8 = 0x21;
        const STRINDEX: u8 = 0x40;
        let b = m.buf;
        let [KEY, key_len, rest @ ..] = b else {
            return false;
        };
        let key_len = usize::from(*key_len);
        if key_len >= 0x80 || rest.len() < key_len + 2 {
            return false;
        }
        let (key, rest) = rest.split_at(key_len);
        let [VALUE, value_len, value @ ..] = rest else {
            return false;
        };
        if usize::from(*value_len) != value.len()
            || value.len() >= 0x80
            || level > self.max_depth
            || m.depth >= RECURSION_LIMIT
            || !is_utf8(key)
        {
            return false;
        }
        let string_len = match value {
            [] => 0,
            [STRING, n, text @ ..] if usize::from(*n) == text.len() => {
                if !is_utf8(text) {
                    return false;
                }
                text.len()
            }
            [BOOL | INT | STRINDEX, v] if *v < 0x80 => 0,
            [DOUBLE, _, _, _, _, _, _, _, _] => 0,
            _ => return false,
        };
        self.stats.key_values += 1;
        self.stats.string_bytes += (key.len() + string_len) as u64;
        if level > self.stats.max_value_depth {
            self.stats.max_value_depth = level;
        }
        true
    }

    /// The current field as an `AnyValue` at `level`: checked against the limits, then walked
    /// flat; a nested array or list goes to [`value_tree`](Self::value_tree).
    #[inline(always)]
    pub(super) fn any_value<'a>(
        &mut self,
        m: Msg<'a>,
        r: &mut Reader<'a>,
        level: u32,
    ) -> Result<(), Fail> {
        if level > self.max_depth {
            return Err(self.too_deep(r, level));
        }
        let v = m.sub(r)?;
        if level > self.stats.max_value_depth {
            self.stats.max_value_depth = level;
        }
        let mut r = v.reader();
        while let Some(tag) = r.next_tag()? {
            if let Step::Enter(kind, level) = self.step(&mut r, Kind::Any, level, tag, v.depth)? {
                let nested = v.sub(&mut r).and_then(|n| self.value_tree(n, kind, level));
                if let Err(e) = nested {
                    let name = if kind == Kind::Array {
                        "array_value"
                    } else {
                        "kvlist_value"
                    };
                    return Err(e.at(name, None));
                }
            }
        }
        Ok(())
    }

    /// One field of a value message of `kind` at `level` (in a message at `depth`): scalars
    /// are read and checked here; a sub-message is handed back to enter.
    #[inline(always)]
    fn step(
        &mut self,
        r: &mut Reader<'_>,
        kind: Kind,
        level: u32,
        tag: u32,
        depth: u32,
    ) -> Result<Step, Fail> {
        match kind {
            Kind::KeyValue => match tag {
                kv::KEY => {
                    self.string(r, "key")?;
                }
                kv::VALUE => return Ok(Step::Enter(Kind::Any, level)),
                kv::KEY_STRINDEX => {
                    r.read_varint()?;
                }
                _ => other(r, tag, depth, kv::FIELDS)?,
            },
            Kind::Any => match tag {
                any::STRING_VALUE => {
                    self.string(r, "string_value")?;
                }
                any::BOOL_VALUE | any::INT_VALUE | any::STRING_VALUE_STRINDEX => {
                    r.read_varint()?;
                }
                any::DOUBLE_VALUE => {
                    r.read_fixed64()?;
                }
                any::BYTES_VALUE => {
                    self.bytes(r)?;
                }
                any::ARRAY_VALUE => return Ok(Step::Enter(Kind::Array, level)),
                any::KVLIST_VALUE => return Ok(Step::Enter(Kind::KvList, level)),
                _ => other(r, tag, depth, any::FIELDS)?,
            },
            Kind::Array => match tag {
                list::VALUES => return Ok(Step::Enter(Kind::Any, level.saturating_add(1))),
                _ => other(r, tag, depth, list::FIELDS)?,
            },
            Kind::KvList => match tag {
                list::VALUES => return Ok(Step::Enter(Kind::KeyValue, level.saturating_add(1))),
                _ => other(r, tag, depth, list::FIELDS)?,
            },
        }
        Ok(Step::Done)
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self, r: &Reader<'_>, level: u32) -> Fail {
        let kind = WalkErrorKind::TooDeep {
            depth: level,
            limit: self.max_depth,
        };
        Fail::new(kind, r.field_start())
    }

    /// The message `root` (of `kind`, at `level`, its limits already checked) and everything
    /// nested in it, with the walker's stack in place of recursion.
    pub(super) fn value_tree(&mut self, root: Msg<'_>, kind: Kind, level: u32) -> Result<(), Fail> {
        let mut height = 0;
        let mut top = kind;
        self.value_loop(root, kind, level, &mut height, &mut top)
            .map_err(|e| self.unwind(e, height, top))
    }

    /// The loop of [`value_tree`](Self::value_tree). On failure, `height` and `top` say
    /// which frames were open, for the path.
    fn value_loop(
        &mut self,
        root: Msg<'_>,
        kind: Kind,
        level: u32,
        height: &mut usize,
        top: &mut Kind,
    ) -> Result<(), Fail> {
        let (buf, base) = (root.buf, root.base);
        let mut depth = root.depth;
        let mut cur = Frame {
            kind,
            level,
            children: 0,
            end: base + buf.len(),
        };
        self.enter(&cur);
        let mut r = root.reader();
        loop {
            let Some(tag) = r.next_tag()? else {
                // The current message is done: back to its parent, after it.
                if *height == 0 {
                    return Ok(());
                }
                *height -= 1;
                let resume = cur.end;
                cur = self.stack[*height];
                *top = cur.kind;
                depth -= 1;
                r = Reader::with_base(&buf[resume - base..cur.end - base], resume)
                    .with_group_budget(RECURSION_LIMIT - depth);
                continue;
            };
            let Step::Enter(child, child_level) =
                self.step(&mut r, cur.kind, cur.level, tag, depth)?
            else {
                continue;
            };
            // Enter the child: checked before anything of it is read.
            cur.children = cur.children.saturating_add(1);
            if cur.kind == Kind::Array {
                self.stats.array_values += 1;
            }
            if child == Kind::Any && child_level > self.max_depth {
                let fail = self.too_deep(&r, child_level);
                return Err(self.segment(fail, &cur, child));
            }
            let payload = match r.read_len() {
                Ok(p) => p,
                Err(e) => return Err(self.segment(e.into(), &cur, child)),
            };
            if depth >= RECURSION_LIMIT || *height >= STACK {
                let kind = WalkErrorKind::RecursionLimit { depth: depth + 1 };
                return Err(self.segment(Fail::new(kind, r.field_start()), &cur, child));
            }
            let end = r.offset();
            self.stack[*height] = cur;
            *height += 1;
            *top = child;
            depth += 1;
            cur = Frame {
                kind: child,
                level: child_level,
                children: 0,
                end,
            };
            self.enter(&cur);
            r = Reader::with_base(payload, end - payload.len())
                .with_group_budget(RECURSION_LIMIT - depth);
        }
    }

    /// Counts a frame being entered.
    #[inline(always)]
    fn enter(&mut self, frame: &Frame) {
        match frame.kind {
            Kind::KeyValue => self.stats.key_values += 1,
            Kind::Any => {
                if frame.level > self.stats.max_value_depth {
                    self.stats.max_value_depth = frame.level;
                }
            }
            Kind::Array | Kind::KvList => {}
        }
    }

    /// Adds the segment of `child`, the child of `parent` being entered, to a failure.
    #[cold]
    #[inline(never)]
    fn segment(&self, fail: Fail, parent: &Frame, child: Kind) -> Fail {
        let (name, index) = segment_of(parent, child);
        fail.at(name, index)
    }

    /// Adds the segments of the open frames (`height` above the root, the innermost of kind
    /// `top`) to a failure, innermost first.
    #[cold]
    #[inline(never)]
    fn unwind(&self, mut fail: Fail, height: usize, top: Kind) -> Fail {
        for k in (1..=height).rev() {
            let child = if k == height { top } else { self.stack[k].kind };
            let (name, index) = segment_of(&self.stack[k - 1], child);
            fail = fail.at(name, index);
        }
        fail
    }
}

/// The path segment of the `parent`'s current child, of kind `child`.
fn segment_of(parent: &Frame, child: Kind) -> (&'static str, Option<u32>) {
    let current = parent.children.saturating_sub(1);
    match (parent.kind, child) {
        (Kind::Any, Kind::Array) => ("array_value", None),
        (Kind::Any, _) => ("kvlist_value", None),
        (Kind::KeyValue, _) => ("value", None),
        (Kind::Array | Kind::KvList, _) => ("values", Some(current)),
    }
}

//! common.v1 and resource.v1: `KeyValue`, `AnyValue` (the one recursive type), `ArrayValue`,
//! `KeyValueList`, `InstrumentationScope`, `Resource`, `EntityRef`.
//!
//! Invariant: an AnyValue is entered only after its level has been checked against
//! `max_depth`, and every sub-message only after [`Msg::sub`] has checked prost's recursion
//! limit, so the recursion `any_value -> array_value / kvlist_value -> any_value` is bounded
//! before it happens.

use super::error::{nth, within};
use super::{Fail, Field, Msg, WalkErrorKind, Walker, fixed64, varint};

impl Walker {
    /// One element of a repeated `KeyValue` field holding attributes (values at level 1).
    #[inline(always)]
    pub(super) fn attribute<'a>(
        &mut self,
        m: Msg<'a>,
        f: &Field<'a>,
        name: &'static str,
        index: &mut u32,
    ) -> Result<(), Fail> {
        nth(m.sub(f).and_then(|kv| self.key_value(kv, 1)), name, index)
    }

    /// An `AnyValue` field at nesting `level`: checked against the limit before it is entered.
    #[inline(always)]
    pub(super) fn value<'a>(&mut self, m: Msg<'a>, f: &Field<'a>, level: u32) -> Result<(), Fail> {
        if level > self.max_depth {
            return Err(Fail::new(
                WalkErrorKind::TooDeep {
                    depth: level,
                    limit: self.max_depth,
                },
                f.start,
            ));
        }
        if level > self.stats.max_value_depth {
            self.stats.max_value_depth = level;
        }
        m.sub(f).and_then(|v| self.any_value(v, level))
    }

    /// `KeyValue` whose value is at nesting `level`.
    pub(super) fn key_value(&mut self, m: Msg<'_>, level: u32) -> Result<(), Fail> {
        self.stats.key_values += 1;
        let mut fields = m.fields();
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.string(&f, "key")?;
                }
                2 => within(self.value(m, &f, level), "value")?,
                3 => {
                    varint(&f, "key_strindex")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `AnyValue` at nesting `level` (already checked).
    fn any_value(&mut self, m: Msg<'_>, level: u32) -> Result<(), Fail> {
        let mut fields = m.fields();
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.string(&f, "string_value")?;
                }
                2 => {
                    varint(&f, "bool_value")?;
                }
                3 => {
                    varint(&f, "int_value")?;
                }
                4 => {
                    fixed64(&f, "double_value")?;
                }
                5 => within(
                    m.sub(&f).and_then(|a| self.array_value(a, level)),
                    "array_value",
                )?,
                6 => within(
                    m.sub(&f).and_then(|l| self.kvlist_value(l, level)),
                    "kvlist_value",
                )?,
                7 => {
                    self.bytes(&f, "bytes_value")?;
                }
                8 => {
                    varint(&f, "string_value_strindex")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `ArrayValue` inside an AnyValue at `level`: its values are at `level + 1`.
    fn array_value(&mut self, m: Msg<'_>, level: u32) -> Result<(), Fail> {
        let mut fields = m.fields();
        let mut values = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.stats.array_values += 1;
                    nth(
                        self.value(m, &f, level.saturating_add(1)),
                        "values",
                        &mut values,
                    )?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `KeyValueList` inside an AnyValue at `level`: its entries' values are at `level + 1`.
    fn kvlist_value(&mut self, m: Msg<'_>, level: u32) -> Result<(), Fail> {
        let mut fields = m.fields();
        let mut values = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => nth(
                    m.sub(&f)
                        .and_then(|kv| self.key_value(kv, level.saturating_add(1))),
                    "values",
                    &mut values,
                )?,
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `InstrumentationScope`.
    pub(super) fn scope(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let mut attributes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.string(&f, "name")?;
                }
                2 => {
                    self.string(&f, "version")?;
                }
                3 => self.attribute(m, &f, "attributes", &mut attributes)?,
                4 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `Resource`.
    pub(super) fn resource(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut attributes, mut entity_refs) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => self.attribute(m, &f, "attributes", &mut attributes)?,
                2 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                3 => nth(
                    m.sub(&f).and_then(|e| self.entity_ref(e)),
                    "entity_refs",
                    &mut entity_refs,
                )?,
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `EntityRef`.
    fn entity_ref(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut id_keys, mut description_keys) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.string(&f, "schema_url")?;
                }
                2 => {
                    self.string(&f, "type")?;
                }
                3 => {
                    nth(self.string_value(&f), "id_keys", &mut id_keys)?;
                }
                4 => {
                    nth(
                        self.string_value(&f),
                        "description_keys",
                        &mut description_keys,
                    )?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }
}

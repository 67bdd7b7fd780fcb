//! common.v1 and resource.v1: `InstrumentationScope`, `Resource`, `EntityRef`, and the doors
//! into [`super::value`], which walks `KeyValue` and `AnyValue` (the recursive types) without
//! recursion.

use super::error::nth;
use super::{Fail, Msg, Reader, Walker, fields};

impl Walker {
    /// One element of a repeated `KeyValue` field holding attributes (values at level 1).
    #[inline(always)]
    pub(super) fn attribute<'a>(
        &mut self,
        m: Msg<'a>,
        r: &mut Reader<'a>,
        name: &'static str,
        index: &mut u32,
    ) -> Result<(), Fail> {
        nth(m.sub(r).and_then(|kv| self.key_value(kv, 1)), name, index)
    }

    /// The current field as an `AnyValue` at nesting level 1 (a log record's body).
    #[inline(always)]
    pub(super) fn value<'a>(&mut self, m: Msg<'a>, r: &mut Reader<'a>) -> Result<(), Fail> {
        self.any_value(m, r, 1)
    }

    /// `InstrumentationScope`.
    pub(super) fn scope(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            NAME = 1 Len "name";
            VERSION = 2 Len "version";
            ATTRIBUTES = 3 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 4 Varint "dropped_attributes_count";
        }
        let mut r = m.reader();
        let mut attributes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                NAME => {
                    self.string(&mut r, "name")?;
                }
                VERSION => {
                    self.string(&mut r, "version")?;
                }
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                DROPPED_ATTRIBUTES_COUNT => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `Resource`.
    pub(super) fn resource(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            ATTRIBUTES = 1 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 2 Varint "dropped_attributes_count";
            ENTITY_REFS = 3 Len "entity_refs";
        }
        let mut r = m.reader();
        let (mut attributes, mut entity_refs) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                DROPPED_ATTRIBUTES_COUNT => {
                    r.read_varint()?;
                }
                ENTITY_REFS => nth(
                    m.sub(&mut r).and_then(|e| self.entity_ref(e)),
                    "entity_refs",
                    &mut entity_refs,
                )?,
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `EntityRef`.
    fn entity_ref(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            SCHEMA_URL = 1 Len "schema_url";
            TYPE = 2 Len "type";
            ID_KEYS = 3 Len "id_keys";
            DESCRIPTION_KEYS = 4 Len "description_keys";
        }
        let mut r = m.reader();
        let (mut id_keys, mut description_keys) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                SCHEMA_URL => {
                    self.string(&mut r, "schema_url")?;
                }
                TYPE => {
                    self.string(&mut r, "type")?;
                }
                ID_KEYS => {
                    nth(self.string_value(&mut r), "id_keys", &mut id_keys)?;
                }
                DESCRIPTION_KEYS => {
                    nth(
                        self.string_value(&mut r),
                        "description_keys",
                        &mut description_keys,
                    )?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }
}

//! The resource and scope columns that lead every signal's schema, stored once per container
//! per batch as dictionary values, and the indices that let Arrow -> OTLP rebuild the exact
//! container structure.
//!
//! Invariants:
//! - A batch holds one resource entry per `Resource{Spans,Metrics,Logs}` and one scope entry
//!   per `Scope*` that has at least one row in the batch (entries are added when their first
//!   row arrives). Every row's scope key names its scope entry, and every scope entry names
//!   its resource entry, so a row reaches its containers with two lookups. The dictionary
//!   columns of one level share one keys buffer.
//! - Every row logically repeats its resource and scope fields, plus `resource_index`
//!   (position of the resource container in the converted stream) and `scope_index` (position
//!   of the scope container within its resource container).
//! - Reading starts a new resource container whenever `resource_index` changes from one row to
//!   the next, and a new scope container whenever either index changes: two identical adjacent
//!   containers stay two containers.
//! - A null `resource_dropped_attributes_count` marks an absent `resource`; a null `scope_name`
//!   marks an absent `scope` (their other columns are then null too, except the schema urls,
//!   which belong to the container message and are never null).

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StringArray, StructArray, UInt32Array};
use arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use arrow_schema::DataType;
use opentelemetry_proto::tonic::common::v1::{EntityRef, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::ConvertError;
use super::attributes::{AttributesBuilder, AttributesReader};
use super::batch::Checkpoint;
use super::columns::{
    ByteColumn, Coded, ListShape, Text, arrow, bitmap_bytes, bounds, child, column, dictionary,
    list_values, take_vec, vec_bytes,
};
use super::schema::{entity_ref_fields, item};

/// Converts a container position into the `u32` index columns.
pub(crate) fn index(position: usize, column: &str) -> Result<u32, ConvertError> {
    u32::try_from(position).map_err(|_| ConvertError::InvalidValue {
        column: column.to_string(),
        row: position,
        reason: "more than u32::MAX containers".to_string(),
    })
}

/// The validity of rows whose entry (via `keys`) is `present`; `None` when all are.
pub(crate) fn rows_validity(present: &[bool], keys: &[i32]) -> Option<NullBuffer> {
    if present.iter().all(|p| *p) {
        return None;
    }
    let bits = BooleanBuffer::collect_bool(keys.len(), |i| {
        present.get(keys[i] as usize).copied().unwrap_or(false)
    });
    Some(NullBuffer::new(bits))
}

/// `values[keys[i]]` for every row.
pub(crate) fn expand<T: Copy + Default>(values: &[T], keys: &[i32]) -> Vec<T> {
    keys.iter()
        .map(|&k| values.get(k as usize).copied().unwrap_or_default())
        .collect()
}

/// Pushes `values` (one per container entry) as the dictionary column `column` over `keys`.
pub(crate) fn push_dict(
    out: &mut Vec<ArrayRef>,
    keys: &ScalarBuffer<i32>,
    nulls: Option<NullBuffer>,
    column: &str,
    values: impl Array + 'static,
) -> Result<(), ConvertError> {
    out.push(dictionary::<Int32Type>(
        keys,
        nulls,
        Arc::new(values),
        column,
    )?);
    Ok(())
}

/// The leading per-row state of the signals whose rows sit directly in a scope (spans, log
/// records): the container entries and each row's scope key.
#[derive(Debug)]
pub(crate) struct Leading {
    pub(crate) rs: ResourceScopeBuilder,
    /// Per row: the key of its scope entry.
    pub(crate) scope_key: Vec<i32>,
}

impl Leading {
    pub(crate) fn new() -> Self {
        Self {
            rs: ResourceScopeBuilder::new(),
            scope_key: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn rows(&self) -> usize {
        self.scope_key.len()
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            rows: self.rows(),
            entries: self.rs.entries(),
            metrics: 0,
        }
    }

    pub(crate) fn truncate(&mut self, to: Checkpoint) {
        self.rs.truncate(to.entries);
        self.scope_key.truncate(to.rows);
    }

    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.rs.bytes(self.rows())
    }

    pub(crate) fn last_row_scope(&self) -> Option<i32> {
        self.scope_key.last().copied()
    }

    /// Pushes the leading columns; leaves the rows empty.
    pub(crate) fn finish(&mut self, out: &mut Vec<ArrayRef>) -> Result<(), ConvertError> {
        let scope_keys = ScalarBuffer::from(take_vec(&mut self.scope_key));
        self.rs.finish(&scope_keys, out)
    }
}

/// The resource and scope entries of the batch being built.
#[derive(Debug)]
pub(crate) struct ResourceScopeBuilder {
    // One element per resource entry.
    pub(crate) r_present: Vec<bool>,
    pub(crate) r_index: Vec<u32>,
    pub(crate) r_dropped: Vec<u32>,
    pub(crate) r_attributes: AttributesBuilder,
    pub(crate) r_entity_refs: EntityRefsBuilder,
    pub(crate) r_schema_url: ByteColumn,
    // One element per scope entry.
    pub(crate) s_resource: Vec<i32>,
    pub(crate) s_present: Vec<bool>,
    pub(crate) s_index: Vec<u32>,
    pub(crate) s_dropped: Vec<u32>,
    pub(crate) s_name: ByteColumn,
    pub(crate) s_version: ByteColumn,
    pub(crate) s_attributes: AttributesBuilder,
    pub(crate) s_schema_url: ByteColumn,
    /// Arrow bytes of the entries, updated when an entry is added or removed (`bytes` runs
    /// after every row; the entries change once per container).
    entry_bytes: usize,
}

/// Entry counts of the two levels (a checkpoint to truncate back to).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Entries {
    pub(crate) resources: usize,
    pub(crate) scopes: usize,
}

impl ResourceScopeBuilder {
    pub(crate) fn new() -> Self {
        Self {
            r_present: Vec::new(),
            r_index: Vec::new(),
            r_dropped: Vec::new(),
            r_attributes: AttributesBuilder::new(),
            r_entity_refs: EntityRefsBuilder::new(),
            r_schema_url: ByteColumn::new(),
            s_resource: Vec::new(),
            s_present: Vec::new(),
            s_index: Vec::new(),
            s_dropped: Vec::new(),
            s_name: ByteColumn::new(),
            s_version: ByteColumn::new(),
            s_attributes: AttributesBuilder::new(),
            s_schema_url: ByteColumn::new(),
            entry_bytes: 0,
        }
    }

    fn measure_entries(&mut self) {
        self.entry_bytes = vec_bytes(&self.r_index)
            + self.r_attributes.bytes()
            + self.r_entity_refs.bytes()
            + self.r_schema_url.bytes()
            + vec_bytes(&self.s_index)
            + self.s_name.bytes()
            + self.s_version.bytes()
            + self.s_attributes.bytes()
            + self.s_schema_url.bytes();
    }

    pub(crate) fn entries(&self) -> Entries {
        Entries {
            resources: self.r_index.len(),
            scopes: self.s_index.len(),
        }
    }

    /// Adds the entry of a resource container (prost form); returns its key.
    pub(crate) fn push_resource(
        &mut self,
        index: u32,
        resource: Option<&Resource>,
        schema_url: &str,
    ) -> i32 {
        match resource {
            Some(r) => {
                self.r_attributes.append(&r.attributes);
                self.r_entity_refs.append(&r.entity_refs);
                self.end_resource(
                    index,
                    Some(r.dropped_attributes_count),
                    Text::of(schema_url),
                )
            }
            None => {
                self.r_attributes.close();
                self.r_entity_refs.close();
                self.end_resource(index, None, Text::of(schema_url))
            }
        }
    }

    /// Completes a resource entry whose attributes and entity refs slots were closed;
    /// `dropped` is `None` for an absent resource.
    pub(crate) fn end_resource(
        &mut self,
        index: u32,
        dropped: Option<u32>,
        schema_url: Text<'_>,
    ) -> i32 {
        let key = self.r_index.len() as i32;
        self.r_present.push(dropped.is_some());
        self.r_index.push(index);
        self.r_dropped.push(dropped.unwrap_or(0));
        self.r_schema_url.push_text(schema_url);
        self.measure_entries();
        key
    }

    /// Adds the entry of a scope container (prost form) under resource entry `resource`.
    pub(crate) fn push_scope(
        &mut self,
        resource: i32,
        index: u32,
        scope: Option<&InstrumentationScope>,
        schema_url: &str,
    ) -> i32 {
        match scope {
            Some(s) => {
                self.s_attributes.append(&s.attributes);
                let scope = (
                    Text::of(&s.name),
                    Text::of(&s.version),
                    s.dropped_attributes_count,
                );
                self.end_scope(resource, index, Some(scope), Text::of(schema_url))
            }
            None => {
                self.s_attributes.close();
                self.end_scope(resource, index, None, Text::of(schema_url))
            }
        }
    }

    /// Completes a scope entry whose attributes slot was closed; `scope` is
    /// `(name, version, dropped)`, `None` for an absent scope.
    pub(crate) fn end_scope(
        &mut self,
        resource: i32,
        index: u32,
        scope: Option<(Text<'_>, Text<'_>, u32)>,
        schema_url: Text<'_>,
    ) -> i32 {
        let key = self.s_index.len() as i32;
        self.s_resource.push(resource);
        self.s_present.push(scope.is_some());
        self.s_index.push(index);
        let (name, version, dropped) = scope.unwrap_or_default();
        self.s_name.push_text(name);
        self.s_version.push_text(version);
        self.s_dropped.push(dropped);
        self.s_schema_url.push_text(schema_url);
        self.measure_entries();
        key
    }

    /// Keeps the first entries of each level.
    pub(crate) fn truncate(&mut self, to: Entries) {
        let r = to.resources;
        self.r_present.truncate(r);
        self.r_index.truncate(r);
        self.r_dropped.truncate(r);
        self.r_attributes.truncate(r);
        self.r_entity_refs.truncate(r);
        self.r_schema_url.truncate(r);
        let s = to.scopes;
        self.s_resource.truncate(s);
        self.s_present.truncate(s);
        self.s_index.truncate(s);
        self.s_dropped.truncate(s);
        self.s_name.truncate(s);
        self.s_version.truncate(s);
        self.s_attributes.truncate(s);
        self.s_schema_url.truncate(s);
        self.measure_entries();
    }

    /// Arrow bytes of the entries plus the per-row columns of `rows` rows.
    pub(crate) fn bytes(&self, rows: usize) -> usize {
        // Per row: two key buffers, the two index columns and the two dropped counts (4 bytes
        // each), and the validity bitmaps.
        24 * rows + 4 * bitmap_bytes(rows) + self.entry_bytes
    }

    /// Pushes the finished leading columns, in schema order, for rows whose scope entries are
    /// `scope_keys`; leaves the builder empty.
    pub(crate) fn finish(
        &mut self,
        scope_keys: &ScalarBuffer<i32>,
        out: &mut Vec<ArrayRef>,
    ) -> Result<(), ConvertError> {
        let sk: &[i32] = scope_keys;
        let rk_vec = expand(&self.s_resource, sk);
        let r_nulls = rows_validity(&self.r_present, &rk_vec);
        let s_nulls = rows_validity(&self.s_present, sk);
        out.push(Arc::new(UInt32Array::from(expand(&self.r_index, &rk_vec))));
        let rk = ScalarBuffer::from(rk_vec);
        push_dict(
            out,
            &rk,
            r_nulls.clone(),
            "resource_attributes",
            self.r_attributes.finish("resource_attributes")?,
        )?;
        out.push(Arc::new(UInt32Array::new(
            ScalarBuffer::from(expand(&self.r_dropped, &rk)),
            r_nulls.clone(),
        )));
        let refs = self.r_entity_refs.finish()?;
        push_dict(out, &rk, r_nulls, "resource_entity_refs", refs)?;
        push_dict(
            out,
            &rk,
            None,
            "resource_schema_url",
            self.r_schema_url.finish_utf8(None, "resource_schema_url")?,
        )?;
        out.push(Arc::new(UInt32Array::from(expand(&self.s_index, sk))));
        push_dict(
            out,
            scope_keys,
            s_nulls.clone(),
            "scope_name",
            self.s_name.finish_utf8(None, "scope_name")?,
        )?;
        push_dict(
            out,
            scope_keys,
            s_nulls.clone(),
            "scope_version",
            self.s_version.finish_utf8(None, "scope_version")?,
        )?;
        push_dict(
            out,
            scope_keys,
            s_nulls.clone(),
            "scope_attributes",
            self.s_attributes.finish("scope_attributes")?,
        )?;
        out.push(Arc::new(UInt32Array::new(
            ScalarBuffer::from(expand(&self.s_dropped, sk)),
            s_nulls,
        )));
        push_dict(
            out,
            scope_keys,
            None,
            "scope_schema_url",
            self.s_schema_url.finish_utf8(None, "scope_schema_url")?,
        )?;
        self.truncate(Entries::default());
        Ok(())
    }
}

/// `resource_entity_refs` values: one list slot of entity-ref structs per resource entry.
#[derive(Debug)]
pub(crate) struct EntityRefsBuilder {
    shape: ListShape,
    pub(crate) schema_url: ByteColumn,
    pub(crate) ty: ByteColumn,
    id_keys_shape: ListShape,
    pub(crate) id_keys: ByteColumn,
    description_keys_shape: ListShape,
    pub(crate) description_keys: ByteColumn,
}

impl EntityRefsBuilder {
    fn new() -> Self {
        Self {
            shape: ListShape::new(),
            schema_url: ByteColumn::new(),
            ty: ByteColumn::new(),
            id_keys_shape: ListShape::new(),
            id_keys: ByteColumn::new(),
            description_keys_shape: ListShape::new(),
            description_keys: ByteColumn::new(),
        }
    }

    fn append(&mut self, refs: &[EntityRef]) {
        for r in refs {
            for k in &r.id_keys {
                self.id_keys.push_str(k);
            }
            for k in &r.description_keys {
                self.description_keys.push_str(k);
            }
            self.push_ref(Text::of(&r.schema_url), Text::of(&r.r#type));
        }
        self.close();
    }

    /// Completes one entity ref of the open slot, whose id and description keys were pushed
    /// into `id_keys` / `description_keys`.
    pub(crate) fn push_ref(&mut self, schema_url: Text<'_>, ty: Text<'_>) {
        self.schema_url.push_text(schema_url);
        self.ty.push_text(ty);
        self.id_keys_shape.close(self.id_keys.len());
        self.description_keys_shape
            .close(self.description_keys.len());
    }

    /// Closes the open slot.
    pub(crate) fn close(&mut self) {
        self.shape.close(self.schema_url.len());
    }

    fn truncate(&mut self, slots: usize) {
        let refs = self.shape.truncate(slots);
        self.schema_url.truncate(refs);
        self.ty.truncate(refs);
        let ids = self.id_keys_shape.truncate(refs);
        self.id_keys.truncate(ids);
        let descriptions = self.description_keys_shape.truncate(refs);
        self.description_keys.truncate(descriptions);
    }

    fn bytes(&self) -> usize {
        self.shape.bytes()
            + self.schema_url.bytes()
            + self.ty.bytes()
            + self.id_keys_shape.bytes()
            + self.id_keys.bytes()
            + self.description_keys_shape.bytes()
            + self.description_keys.bytes()
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "resource_entity_refs";
        let id_keys = self.id_keys_shape.finish(
            item(DataType::Utf8),
            Arc::new(self.id_keys.finish_utf8(None, COLUMN)?),
            COLUMN,
        )?;
        let description_keys = self.description_keys_shape.finish(
            item(DataType::Utf8),
            Arc::new(self.description_keys.finish_utf8(None, COLUMN)?),
            COLUMN,
        )?;
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.schema_url.finish_utf8(None, COLUMN)?),
            Arc::new(self.ty.finish_utf8(None, COLUMN)?),
            Arc::new(id_keys),
            Arc::new(description_keys),
        ];
        let entries = StructArray::try_new(entity_ref_fields(), children, None)
            .map_err(|source| arrow(COLUMN, source))?;
        self.shape.finish(
            item(DataType::Struct(entity_ref_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}

/// Reads the resource and scope columns back (dictionary-encoded or plain).
#[derive(Debug)]
pub(crate) struct ResourceScopeReader<'a> {
    resource_index: &'a UInt32Array,
    resource_attributes: Coded<'a, ListArray>,
    resource_attribute_values: AttributesReader<'a>,
    resource_dropped: &'a UInt32Array,
    entity_refs: Coded<'a, ListArray>,
    entity_schema_url: &'a StringArray,
    entity_type: &'a StringArray,
    entity_id_keys: &'a ListArray,
    entity_id_key_values: &'a StringArray,
    entity_description_keys: &'a ListArray,
    entity_description_key_values: &'a StringArray,
    resource_schema_url: Coded<'a, StringArray>,
    scope_index: &'a UInt32Array,
    scope_name: Coded<'a, StringArray>,
    scope_version: Coded<'a, StringArray>,
    scope_attributes: Coded<'a, ListArray>,
    scope_attribute_values: AttributesReader<'a>,
    scope_dropped: &'a UInt32Array,
    scope_schema_url: Coded<'a, StringArray>,
}

/// The text of `row` in a coded string column (`""` for a null).
pub(crate) fn coded_str<'a>(
    column: &Coded<'a, StringArray>,
    row: usize,
) -> Result<&'a str, ConvertError> {
    Ok(column.index(row)?.map_or("", |i| column.values.value(i)))
}

impl<'a> ResourceScopeReader<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Result<Self, ConvertError> {
        const REFS: &str = "resource_entity_refs";
        let entity_refs: Coded<'a, ListArray> = Coded::new(batch, REFS)?;
        let entries: &StructArray = list_values(entity_refs.values, REFS)?;
        let entity_id_keys: &ListArray = child(entries, "id_keys", REFS)?;
        let entity_description_keys: &ListArray = child(entries, "description_keys", REFS)?;
        let resource_attributes = Coded::new(batch, "resource_attributes")?;
        let scope_attributes = Coded::new(batch, "scope_attributes")?;
        Ok(Self {
            resource_index: column(batch, "resource_index")?,
            resource_attribute_values: AttributesReader::new(
                resource_attributes.values,
                "resource_attributes",
            )?,
            resource_attributes,
            resource_dropped: column(batch, "resource_dropped_attributes_count")?,
            entity_refs,
            entity_schema_url: child(entries, "schema_url", REFS)?,
            entity_type: child(entries, "type", REFS)?,
            entity_id_keys,
            entity_id_key_values: list_values(entity_id_keys, REFS)?,
            entity_description_keys,
            entity_description_key_values: list_values(entity_description_keys, REFS)?,
            resource_schema_url: Coded::new(batch, "resource_schema_url")?,
            scope_index: column(batch, "scope_index")?,
            scope_name: Coded::new(batch, "scope_name")?,
            scope_version: Coded::new(batch, "scope_version")?,
            scope_attribute_values: AttributesReader::new(
                scope_attributes.values,
                "scope_attributes",
            )?,
            scope_attributes,
            scope_dropped: column(batch, "scope_dropped_attributes_count")?,
            scope_schema_url: Coded::new(batch, "scope_schema_url")?,
        })
    }

    /// `(resource_index, scope_index)` of `row`.
    #[inline]
    pub(crate) fn indices(&self, row: usize) -> (u32, u32) {
        (self.resource_index.value(row), self.scope_index.value(row))
    }

    pub(crate) fn resource_schema_url(&self, row: usize) -> Result<String, ConvertError> {
        coded_str(&self.resource_schema_url, row).map(str::to_string)
    }

    pub(crate) fn scope_schema_url(&self, row: usize) -> Result<String, ConvertError> {
        coded_str(&self.scope_schema_url, row).map(str::to_string)
    }

    pub(crate) fn resource(&self, row: usize) -> Result<Option<Resource>, ConvertError> {
        if self.resource_dropped.is_null(row) {
            return Ok(None);
        }
        let mut entity_refs = Vec::new();
        if let Some(slot) = self.entity_refs.index(row)? {
            for e in bounds(self.entity_refs.values, slot) {
                let keys = |list: &ListArray, values: &StringArray| {
                    bounds(list, e)
                        .map(|k| values.value(k).to_string())
                        .collect::<Vec<_>>()
                };
                entity_refs.push(EntityRef {
                    schema_url: self.entity_schema_url.value(e).to_string(),
                    r#type: self.entity_type.value(e).to_string(),
                    id_keys: keys(self.entity_id_keys, self.entity_id_key_values),
                    description_keys: keys(
                        self.entity_description_keys,
                        self.entity_description_key_values,
                    ),
                });
            }
        }
        let attributes = match self.resource_attributes.index(row)? {
            Some(slot) => self.resource_attribute_values.get(slot)?,
            None => Vec::new(),
        };
        Ok(Some(Resource {
            attributes,
            dropped_attributes_count: self.resource_dropped.value(row),
            entity_refs,
        }))
    }

    pub(crate) fn scope(&self, row: usize) -> Result<Option<InstrumentationScope>, ConvertError> {
        let Some(name) = self.scope_name.index(row)? else {
            return Ok(None);
        };
        let attributes = match self.scope_attributes.index(row)? {
            Some(slot) => self.scope_attribute_values.get(slot)?,
            None => Vec::new(),
        };
        Ok(Some(InstrumentationScope {
            name: self.scope_name.values.value(name).to_string(),
            version: coded_str(&self.scope_version, row)?.to_string(),
            attributes,
            dropped_attributes_count: self.scope_dropped.value(row),
        }))
    }
}

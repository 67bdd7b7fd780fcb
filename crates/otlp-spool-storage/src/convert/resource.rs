//! The resource and scope columns that lead every signal's schema, and the indices that let
//! Arrow -> OTLP rebuild the exact container structure.
//!
//! Invariants:
//! - Every row repeats its resource and scope fields (so each row is self-describing for
//!   queries), plus `resource_index` (position of the `Resource{Spans,Metrics,Logs}` in the
//!   request) and `scope_index` (position of the `Scope*` within it).
//! - Reading starts a new resource container whenever `resource_index` changes from one row to
//!   the next, and a new scope container whenever either index changes: two identical adjacent
//!   containers stay two containers.
//! - A null `resource_dropped_attributes_count` marks an absent `resource`; a null `scope_name`
//!   marks an absent `scope` (their other columns are then null too).

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch, StringArray, StructArray, UInt32Array};
use arrow_schema::DataType;
use opentelemetry_proto::tonic::common::v1::{EntityRef, InstrumentationScope};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::ConvertError;
use super::attributes::{AttributesBuilder, AttributesReader};
use super::columns::{ListShape, bounds, child, column, list_values};
use super::schema::{entity_ref_fields, item};

/// Converts a container position into the `u32` index columns.
pub(crate) fn index(position: usize, column: &str) -> Result<u32, ConvertError> {
    u32::try_from(position).map_err(|_| ConvertError::InvalidValue {
        column: column.to_string(),
        row: position,
        reason: "more than u32::MAX containers".to_string(),
    })
}

/// Builds the resource and scope columns.
#[derive(Debug)]
pub(crate) struct ResourceScopeBuilder {
    resource_index: Vec<u32>,
    resource_attributes: AttributesBuilder,
    resource_dropped: UInt32Builder,
    entity_refs: EntityRefsBuilder,
    resource_schema_url: StringBuilder,
    scope_index: Vec<u32>,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attributes: AttributesBuilder,
    scope_dropped: UInt32Builder,
    scope_schema_url: StringBuilder,
}

/// The container context a row belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'r> {
    pub(crate) resource_index: u32,
    pub(crate) resource: Option<&'r Resource>,
    pub(crate) resource_schema_url: &'r str,
    pub(crate) scope_index: u32,
    pub(crate) scope: Option<&'r InstrumentationScope>,
    pub(crate) scope_schema_url: &'r str,
}

impl ResourceScopeBuilder {
    pub(crate) fn with_capacity(rows: usize) -> Self {
        Self {
            resource_index: Vec::with_capacity(rows),
            resource_attributes: AttributesBuilder::with_capacity(rows, rows * 8),
            resource_dropped: UInt32Builder::with_capacity(rows),
            entity_refs: EntityRefsBuilder::with_capacity(rows),
            resource_schema_url: StringBuilder::with_capacity(rows, 0),
            scope_index: Vec::with_capacity(rows),
            scope_name: StringBuilder::with_capacity(rows, rows * 16),
            scope_version: StringBuilder::with_capacity(rows, rows * 8),
            scope_attributes: AttributesBuilder::with_capacity(rows, 0),
            scope_dropped: UInt32Builder::with_capacity(rows),
            scope_schema_url: StringBuilder::with_capacity(rows, 0),
        }
    }

    /// Appends the resource and scope fields of one row.
    #[inline]
    pub(crate) fn append(&mut self, cx: &Context<'_>) {
        self.resource_index.push(cx.resource_index);
        match cx.resource {
            Some(r) => {
                self.resource_attributes.append(&r.attributes);
                self.resource_dropped
                    .append_value(r.dropped_attributes_count);
                self.entity_refs.append(&r.entity_refs);
            }
            None => {
                self.resource_attributes.append_null();
                self.resource_dropped.append_null();
                self.entity_refs.append_null();
            }
        }
        self.resource_schema_url
            .append_value(cx.resource_schema_url);
        self.scope_index.push(cx.scope_index);
        match cx.scope {
            Some(s) => {
                self.scope_name.append_value(&s.name);
                self.scope_version.append_value(&s.version);
                self.scope_attributes.append(&s.attributes);
                self.scope_dropped.append_value(s.dropped_attributes_count);
            }
            None => {
                self.scope_name.append_null();
                self.scope_version.append_null();
                self.scope_attributes.append_null();
                self.scope_dropped.append_null();
            }
        }
        self.scope_schema_url.append_value(cx.scope_schema_url);
    }

    /// Pushes the finished columns, in schema order.
    pub(crate) fn finish(&mut self, out: &mut Vec<ArrayRef>) -> Result<(), ConvertError> {
        out.push(Arc::new(UInt32Array::from(std::mem::take(
            &mut self.resource_index,
        ))));
        out.push(Arc::new(
            self.resource_attributes.finish("resource_attributes")?,
        ));
        out.push(Arc::new(self.resource_dropped.finish()));
        out.push(Arc::new(self.entity_refs.finish()?));
        out.push(Arc::new(self.resource_schema_url.finish()));
        out.push(Arc::new(UInt32Array::from(std::mem::take(
            &mut self.scope_index,
        ))));
        out.push(Arc::new(self.scope_name.finish()));
        out.push(Arc::new(self.scope_version.finish()));
        out.push(Arc::new(self.scope_attributes.finish("scope_attributes")?));
        out.push(Arc::new(self.scope_dropped.finish()));
        out.push(Arc::new(self.scope_schema_url.finish()));
        Ok(())
    }
}

/// `resource_entity_refs`: a nullable list of entity-ref structs.
#[derive(Debug)]
struct EntityRefsBuilder {
    shape: ListShape,
    count: usize,
    schema_url: StringBuilder,
    ty: StringBuilder,
    id_keys_shape: ListShape,
    id_keys: StringBuilder,
    id_keys_len: usize,
    description_keys_shape: ListShape,
    description_keys: StringBuilder,
    description_keys_len: usize,
}

impl EntityRefsBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(rows),
            count: 0,
            schema_url: StringBuilder::new(),
            ty: StringBuilder::new(),
            id_keys_shape: ListShape::with_capacity(0),
            id_keys: StringBuilder::new(),
            id_keys_len: 0,
            description_keys_shape: ListShape::with_capacity(0),
            description_keys: StringBuilder::new(),
            description_keys_len: 0,
        }
    }

    fn append(&mut self, refs: &[EntityRef]) {
        for r in refs {
            self.schema_url.append_value(&r.schema_url);
            self.ty.append_value(&r.r#type);
            for k in &r.id_keys {
                self.id_keys.append_value(k);
            }
            self.id_keys_len += r.id_keys.len();
            self.id_keys_shape.close(self.id_keys_len);
            for k in &r.description_keys {
                self.description_keys.append_value(k);
            }
            self.description_keys_len += r.description_keys.len();
            self.description_keys_shape.close(self.description_keys_len);
        }
        self.count += refs.len();
        self.shape.close(self.count);
    }

    fn append_null(&mut self) {
        self.shape.close_null();
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "resource_entity_refs";
        let id_keys = self.id_keys_shape.finish(
            item(DataType::Utf8),
            Arc::new(self.id_keys.finish()),
            COLUMN,
        )?;
        let description_keys = self.description_keys_shape.finish(
            item(DataType::Utf8),
            Arc::new(self.description_keys.finish()),
            COLUMN,
        )?;
        self.id_keys_len = 0;
        self.description_keys_len = 0;
        self.count = 0;
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.schema_url.finish()),
            Arc::new(self.ty.finish()),
            Arc::new(id_keys),
            Arc::new(description_keys),
        ];
        let entries =
            StructArray::try_new(entity_ref_fields(), children, None).map_err(|source| {
                ConvertError::Arrow {
                    column: COLUMN.to_string(),
                    source,
                }
            })?;
        self.shape.finish(
            item(DataType::Struct(entity_ref_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}

/// Reads the resource and scope columns back.
#[derive(Debug)]
pub(crate) struct ResourceScopeReader<'a> {
    resource_index: &'a UInt32Array,
    resource_attributes: AttributesReader<'a>,
    resource_dropped: &'a UInt32Array,
    entity_refs: &'a ListArray,
    entity_schema_url: &'a StringArray,
    entity_type: &'a StringArray,
    entity_id_keys: &'a ListArray,
    entity_id_key_values: &'a StringArray,
    entity_description_keys: &'a ListArray,
    entity_description_key_values: &'a StringArray,
    resource_schema_url: &'a StringArray,
    scope_index: &'a UInt32Array,
    scope_name: &'a StringArray,
    scope_version: &'a StringArray,
    scope_attributes: AttributesReader<'a>,
    scope_dropped: &'a UInt32Array,
    scope_schema_url: &'a StringArray,
}

impl<'a> ResourceScopeReader<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Result<Self, ConvertError> {
        const REFS: &str = "resource_entity_refs";
        let entity_refs: &ListArray = column(batch, REFS)?;
        let entries: &StructArray = list_values(entity_refs, REFS)?;
        let entity_id_keys: &ListArray = child(entries, "id_keys", REFS)?;
        let entity_description_keys: &ListArray = child(entries, "description_keys", REFS)?;
        Ok(Self {
            resource_index: column(batch, "resource_index")?,
            resource_attributes: AttributesReader::new(
                column(batch, "resource_attributes")?,
                "resource_attributes",
            )?,
            resource_dropped: column(batch, "resource_dropped_attributes_count")?,
            entity_refs,
            entity_schema_url: child(entries, "schema_url", REFS)?,
            entity_type: child(entries, "type", REFS)?,
            entity_id_keys,
            entity_id_key_values: list_values(entity_id_keys, REFS)?,
            entity_description_keys,
            entity_description_key_values: list_values(entity_description_keys, REFS)?,
            resource_schema_url: column(batch, "resource_schema_url")?,
            scope_index: column(batch, "scope_index")?,
            scope_name: column(batch, "scope_name")?,
            scope_version: column(batch, "scope_version")?,
            scope_attributes: AttributesReader::new(
                column(batch, "scope_attributes")?,
                "scope_attributes",
            )?,
            scope_dropped: column(batch, "scope_dropped_attributes_count")?,
            scope_schema_url: column(batch, "scope_schema_url")?,
        })
    }

    /// `(resource_index, scope_index)` of `row`.
    #[inline]
    pub(crate) fn indices(&self, row: usize) -> (u32, u32) {
        (self.resource_index.value(row), self.scope_index.value(row))
    }

    pub(crate) fn resource_schema_url(&self, row: usize) -> String {
        self.resource_schema_url.value(row).to_string()
    }

    pub(crate) fn scope_schema_url(&self, row: usize) -> String {
        self.scope_schema_url.value(row).to_string()
    }

    pub(crate) fn resource(&self, row: usize) -> Result<Option<Resource>, ConvertError> {
        if self.resource_dropped.is_null(row) {
            return Ok(None);
        }
        let mut entity_refs = Vec::new();
        for e in bounds(self.entity_refs, row) {
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
        Ok(Some(Resource {
            attributes: self.resource_attributes.get(row)?,
            dropped_attributes_count: self.resource_dropped.value(row),
            entity_refs,
        }))
    }

    pub(crate) fn scope(&self, row: usize) -> Result<Option<InstrumentationScope>, ConvertError> {
        if self.scope_name.is_null(row) {
            return Ok(None);
        }
        Ok(Some(InstrumentationScope {
            name: self.scope_name.value(row).to_string(),
            version: self.scope_version.value(row).to_string(),
            attributes: self.scope_attributes.get(row)?,
            dropped_attributes_count: self.scope_dropped.value(row),
        }))
    }
}

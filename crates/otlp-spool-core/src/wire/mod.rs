//! The OTLP protobuf wire form: reading it without building prost messages.
//!
//! Requests travel through otlp-spool as their serialized bytes; the walkers that validate
//! them (receiver) and turn them into Arrow (storage) read those bytes with the one
//! [`Reader`] defined here, so both accept the same framing with the same limits.
//!
//! [`walk`] is the validating walker: one pass over a request's bytes that accepts what prost
//! accepts, counts the items, gathers [`WireStats`] and cuts out the items with invalid ids.

mod cost;
mod reader;
mod utf8;
mod walk;

pub use cost::write_cost;

pub use reader::{
    Field, MAX_FIELD_NUMBER, MAX_GROUP_DEPTH, Reader, Value, WireError, WireErrorKind, WireType,
    decode_varint, put_len_field, put_tag, put_varint, tag, varint_len,
};
pub use utf8::is_utf8;
pub use walk::{Refused, WalkError, WalkErrorKind, WalkLimits, Walked, WireStats, walk};

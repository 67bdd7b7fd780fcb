//! The configuration's secrets: [`Secret`] is the exporters' one (Debug, Display and
//! serialization print `<redacted>`), and [`redact_url_userinfo`] (also the exporters', which
//! log their endpoint) is for URLs that may carry credentials.

pub use otlp_spool_exporters::{Secret, redact_url_userinfo};

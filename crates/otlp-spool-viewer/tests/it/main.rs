//! Integration tests of otlp-spool-viewer, one test binary: queries, pages, the standalone
//! server and `inspect`, all on directories written by the real `FileStore`.

mod damaged;
mod fixture;
mod inspect;
mod pages;
mod queries;
mod server;

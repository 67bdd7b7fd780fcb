//! Integration tests of the uploader against a real S3 API server (s3s-fs) on loopback.

mod concurrency;
mod faults;
mod lake;
mod support;
mod upload;

//! Integration tests of the write-ahead log (one binary; `util` holds the helpers).
//!
//! The crash tests re-run this binary as a child process (`util::child`) that is killed
//! (SIGKILL from the parent) or aborts itself at a crash point (`failpoint`), then check what
//! a fresh open of the same directory finds.

mod append;
mod concurrency;
mod crash;
mod cursor;
mod disk_full;
mod protocol;
mod recovery;
mod recycle;
mod util;

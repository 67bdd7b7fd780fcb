//! The `otlp-spool` binary: its global allocator, then [`otlp_spool::cli::run`], which holds
//! the command line (`otlp-spool serve [flags]`, ...).

use std::process::ExitCode;

/// mimalloc: the decode path allocates a lot of small objects per request (DEPENDENCIES.md
/// trap 11), and it returns freed memory to the OS more readily than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc tuning that has to happen before the first allocation.
///
/// With its default `arena_eager_commit` (on, where the OS overcommits), mimalloc commits its
/// first 1 GiB arena up front and purges freed pages by resetting them, which leaves them
/// resident: under sustained load the server's peak RSS was about twice its live heap
/// (116 MiB resident for 35 MiB live, measured with a counting allocator; `benches/README.md`).
/// Committing on demand instead keeps freed pages out of RSS at no measurable CPU cost.
/// Freed pages are then returned to the OS after `purge_delay`: mimalloc v3's default of
/// 1000 ms let the writer's freed batch buffers of the last second stay resident (peak RSS
/// 60-66 MiB at saturation with 2 MiB batches); 100 ms gave 49-52 MiB in the same runs with
/// no CPU difference the runs could show (`benches/README.md`, 2026-12-07; 0 ms, purging at
/// once, had cost about half as much CPU again). `MIMALLOC_PURGE_DELAY` in the environment
/// still wins.
/// Options are read when the first arena is reserved, which happens before `main`, so this
/// runs as an ELF constructor (`.init_array`), like the `MIMALLOC_*` environment variables
/// it overrides.
#[cfg(target_os = "linux")]
mod allocator_tuning {
    use std::ffi::{c_int, c_long};

    /// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e`.
    const ARENA_EAGER_COMMIT: c_int = 4;
    /// `mi_option_purge_delay` in mimalloc v3's `mi_option_e`.
    const PURGE_DELAY: c_int = 15;
    /// The purge delay the binary sets, in milliseconds.
    const PURGE_DELAY_MS: c_long = 100;

    unsafe extern "C" {
        /// From the mimalloc library linked by `libmimalloc-sys`.
        fn mi_option_set(option: c_int, value: c_long);
    }

    extern "C" fn before_main() {
        // SAFETY: a plain option setter with a valid option index; it allocates nothing and
        // runs single-threaded, before the Rust runtime starts.
        unsafe {
            mi_option_set(ARENA_EAGER_COMMIT, 0);
            if libc::getenv(c"MIMALLOC_PURGE_DELAY".as_ptr()).is_null() {
                mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
            }
        }
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static BEFORE_MAIN: extern "C" fn() = before_main;

    /// A tripwire for the hard-coded option indices: the binary's test harness links the same
    /// allocator and constructor, so the options must read back as set, and a neighbouring
    /// option must still hold its documented mimalloc v3 default (a renumbered `mi_option_e`
    /// in a new mimalloc would move it).
    #[cfg(test)]
    mod tests {
        use super::{ARENA_EAGER_COMMIT, PURGE_DELAY, PURGE_DELAY_MS, c_int, c_long};

        /// `mi_option_os_tag` in mimalloc v3 (default 100).
        const OS_TAG: c_int = 18;

        unsafe extern "C" {
            fn mi_option_get(option: c_int) -> c_long;
        }

        #[test]
        fn the_constructor_set_eager_arena_commit_and_purge_delay() {
            // SAFETY: plain option getters with valid indices.
            let (eager, purge_delay, os_tag) = unsafe {
                (
                    mi_option_get(ARENA_EAGER_COMMIT),
                    mi_option_get(PURGE_DELAY),
                    mi_option_get(OS_TAG),
                )
            };
            assert_eq!(eager, 0, "arena_eager_commit");
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(purge_delay, PURGE_DELAY_MS, "purge_delay");
            }
            if std::env::var_os("MIMALLOC_OS_TAG").is_none() {
                assert_eq!(os_tag, 100, "option indices moved: check mimalloc.h");
            }
        }
    }
}

fn main() -> ExitCode {
    otlp_spool::cli::run(std::env::args_os())
}

//! A small, runtime-agnostic notification primitive: a generation counter, a keyed
//! waker list and an optional callback hook.
//!
//! Lost-wakeup freedom without relying on `SeqCst` store-load ordering (which loom does
//! not model, and which is easy to get wrong): the generation (high 32 bits) and the
//! number of registered waiters (low 32 bits) share one atomic word, and both sides
//! change it with a read-modify-write, so the two RMWs are totally ordered:
//! - if the waiter's registration RMW comes first, the notifier's RMW sees a non-zero
//!   count and takes the list lock, which the waiter held while storing its waker;
//! - if the notifier's RMW comes first, the waiter's RMW reads it (acquire), so it sees
//!   the new generation and everything the notifier did before notifying.
//!
//! A waiter that re-registers (key already allocated, count already non-zero) is
//! ordered by the list lock itself. The notify fast path (nobody registered, no hook)
//! is one atomic RMW and no lock.

use std::sync::Arc;
use std::task::Waker;

use crate::sync::{AtomicBool, AtomicU64, Mutex, Ordering};

/// The callback type a consumer can register to learn that a batch may be ready.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

const GENERATION_ONE: u64 = 1 << 32;
const COUNT_MASK: u64 = GENERATION_ONE - 1;

#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
    hook: Option<Hook>,
}

/// See the module docs.
pub(crate) struct Signal {
    /// Generation (high 32 bits, wrapping) and registered waiter keys (low 32 bits).
    state: AtomicU64,
    has_hook: AtomicBool,
    list: Mutex<Waiters>,
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("Signal")
            .field("generation", &(state >> 32))
            .field("waiters", &(state & COUNT_MASK))
            .finish_non_exhaustive()
    }
}

impl Signal {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            has_hook: AtomicBool::new(false),
            list: Mutex::new(Waiters::default()),
        }
    }

    /// The current generation; it grows by one (wrapping at 2^32) on every `notify`.
    pub(crate) fn generation(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> 32
    }

    /// Wakes every registered waiter and calls the hook (outside the lock).
    pub(crate) fn notify(&self) {
        let before = self.state.fetch_add(GENERATION_ONE, Ordering::AcqRel);
        if before & COUNT_MASK == 0 && !self.has_hook.load(Ordering::Acquire) {
            return;
        }
        let (wakers, hook) = {
            let mut list = self.list.lock();
            let wakers: Vec<Waker> = list.slots.iter_mut().filter_map(Option::take).collect();
            (wakers, list.hook.clone())
        };
        for waker in wakers {
            waker.wake();
        }
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Installs (or with `None` removes) the callback run on every `notify`.
    pub(crate) fn set_hook(&self, hook: Option<Hook>) {
        let mut list = self.list.lock();
        self.has_hook.store(hook.is_some(), Ordering::Release);
        list.hook = hook;
    }

    /// Stores `waker` under `key` (allocating a key on first use) and returns the
    /// generation as of the registration: a caller that sees it differ from the one it
    /// started from must not wait.
    pub(crate) fn register(&self, key: &mut Option<usize>, waker: &Waker) -> u64 {
        let mut list = self.list.lock();
        match *key {
            Some(k) => {
                match &mut list.slots[k] {
                    Some(existing) if existing.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
                self.state.load(Ordering::Acquire) >> 32
            }
            None => {
                let k = match list.free.pop() {
                    Some(k) => {
                        list.slots[k] = Some(waker.clone());
                        k
                    }
                    None => {
                        list.slots.push(Some(waker.clone()));
                        list.slots.len() - 1
                    }
                };
                *key = Some(k);
                // The RMW that orders this registration against every notify.
                self.state.fetch_add(1, Ordering::AcqRel) >> 32
            }
        }
    }

    /// Frees `key` (called when a waiting future completes or is dropped).
    pub(crate) fn unregister(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let mut list = self.list.lock();
            list.slots[k] = None;
            list.free.push(k);
            self.state.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

//! Shared bench helpers: the item type, the contenders (our buffer and the naive
//! baselines written here) and a tiny `block_on` for the tokio mutex baseline.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crossbeam_queue::ArrayQueue;
use otlp_spool_buffer::{BatchBuffer, MAX_BYTES_LIMIT, Producer, Weighted};

/// A small item: what a buffer entry costs to move (an id and a declared weight).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub(crate) id: u64,
    pub(crate) weight: u32,
}

impl Weighted for Item {
    #[inline]
    fn weight(&self) -> usize {
        self.weight as usize
    }
}

pub(crate) fn item(id: u64) -> Item {
    Item { id, weight: 100 }
}

/// Capacity (items) of the fixed-capacity baselines.
pub(crate) const QUEUE_CAPACITY: usize = 1 << 16;

/// A thread-parking executor for one future (what a blocking caller of an async lock
/// pays, without a runtime).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    std::thread_local! {
        static WAKER: Waker = Arc::new(ThreadWaker(std::thread::current())).into();
    }
    let mut future = pin!(future);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    })
}

/// A multi-producer buffer with a draining consumer, as the benches drive it.
pub(crate) trait Contender: Sync {
    /// Per-producer state.
    type Handle: Send;
    const NAME: &'static str;
    fn new() -> Self;
    fn handle(&self) -> Self::Handle;
    /// Pushes, spinning while full (the benches size buffers so that is rare).
    fn push(&self, handle: &mut Self::Handle, item: Item);
    /// Takes everything; returns how many items.
    fn drain(&self) -> usize;
}

/// The crate's `BatchBuffer`, one `Producer` per producer thread.
pub(crate) struct Ours(pub(crate) BatchBuffer<Item>);

impl Contender for Ours {
    type Handle = Producer<Item>;
    const NAME: &'static str = "batch_buffer";
    fn new() -> Self {
        Self(
            BatchBuffer::builder()
                .max_bytes(MAX_BYTES_LIMIT)
                .build()
                .unwrap(),
        )
    }
    fn handle(&self) -> Self::Handle {
        self.0.producer()
    }
    #[inline]
    fn push(&self, handle: &mut Self::Handle, item: Item) {
        let mut item = item;
        while let Err(err) = handle.push(item) {
            item = err.into_inner();
            std::hint::spin_loop();
        }
    }
    fn drain(&self) -> usize {
        // The intended consumer loop: drain, process, hand the segments back.
        let batch = self.0.drain_all();
        let n = batch.len();
        self.0.recycle(batch);
        n
    }
}

/// Baseline: `std::sync::Mutex<Vec<T>>`, drained by `mem::take`.
pub(crate) struct StdMutexVec(pub(crate) Mutex<Vec<Item>>);

impl Contender for StdMutexVec {
    type Handle = ();
    const NAME: &'static str = "std_mutex_vec";
    fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }
    fn handle(&self) {}
    #[inline]
    fn push(&self, _: &mut (), item: Item) {
        self.0.lock().unwrap().push(item);
    }
    fn drain(&self) -> usize {
        std::mem::take(&mut *self.0.lock().unwrap()).len()
    }
}

/// Baseline (the naive design): `tokio::sync::Mutex<Vec<T>>`, locked through its future.
pub(crate) struct TokioMutexVec(pub(crate) tokio::sync::Mutex<Vec<Item>>);

impl Contender for TokioMutexVec {
    type Handle = ();
    const NAME: &'static str = "tokio_mutex_vec";
    fn new() -> Self {
        Self(tokio::sync::Mutex::new(Vec::new()))
    }
    fn handle(&self) {}
    #[inline]
    fn push(&self, _: &mut (), item: Item) {
        block_on(self.0.lock()).push(item);
    }
    fn drain(&self) -> usize {
        std::mem::take(&mut *block_on(self.0.lock())).len()
    }
}

/// Baseline: crossbeam's lock-free bounded `ArrayQueue`, drained by popping.
pub(crate) struct CrossbeamArrayQueue(pub(crate) ArrayQueue<Item>);

impl Contender for CrossbeamArrayQueue {
    type Handle = ();
    const NAME: &'static str = "crossbeam_array_queue";
    fn new() -> Self {
        Self(ArrayQueue::new(QUEUE_CAPACITY))
    }
    fn handle(&self) {}
    #[inline]
    fn push(&self, _: &mut (), item: Item) {
        let mut item = item;
        while let Err(back) = self.0.push(item) {
            item = back;
            std::hint::spin_loop();
        }
    }
    fn drain(&self) -> usize {
        let mut n = 0;
        while self.0.pop().is_some() {
            n += 1;
        }
        n
    }
}

/// Baseline: a bounded `tokio::sync::mpsc` channel (`try_send` / `try_recv`).
pub(crate) struct TokioMpsc {
    tx: tokio::sync::mpsc::Sender<Item>,
    rx: Mutex<tokio::sync::mpsc::Receiver<Item>>,
}

impl Contender for TokioMpsc {
    type Handle = tokio::sync::mpsc::Sender<Item>;
    const NAME: &'static str = "tokio_mpsc";
    fn new() -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE_CAPACITY);
        Self {
            tx,
            rx: Mutex::new(rx),
        }
    }
    fn handle(&self) -> Self::Handle {
        self.tx.clone()
    }
    #[inline]
    fn push(&self, handle: &mut Self::Handle, item: Item) {
        let mut item = item;
        while let Err(err) = handle.try_send(item) {
            item = match err {
                tokio::sync::mpsc::error::TrySendError::Full(item) => item,
                tokio::sync::mpsc::error::TrySendError::Closed(item) => item,
            };
            std::hint::spin_loop();
        }
    }
    fn drain(&self) -> usize {
        let mut rx = self.rx.lock().unwrap();
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}

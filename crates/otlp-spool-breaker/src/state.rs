//! The packed state word: the whole state machine in one `AtomicU64`.
//!
//! ```text
//!  63            48 47            32 31                      8 7          2 1    0
//! +----------------+----------------+-------------------------+------------+------+
//! |   successes    |     count      |          epoch          |   level    | tag  |
//! +----------------+----------------+-------------------------+------------+------+
//! ```
//!
//! * `tag`: 0 = Closed, 1 = Open, 2 = HalfOpen (3 is never written).
//! * `level`: how many times in a row the breaker has re-opened from HalfOpen without closing
//!   (0 for an opening from Closed); selects the back-off. Saturates at [`MAX_LEVEL`].
//!   Always 0 while Closed: closing resets the back-off.
//! * `epoch`: incremented (mod 2^24) by every transition. A permit remembers the epoch it was
//!   issued in; its outcome only touches the state if the word still carries that epoch.
//! * `count`: Closed = consecutive failures (saturating at `u16::MAX`); HalfOpen = probes in
//!   flight; Open = 0.
//! * `successes`: HalfOpen = probe successes so far; 0 otherwise.
//!
//! Invariants (each transition is one CAS from a word to its successor, so they hold for every
//! value ever stored):
//! 1. the epoch changes on every transition and only on a transition;
//! 2. `count` and `successes` are reset on every transition;
//! 3. in HalfOpen, `count` equals the number of live probe permits of this epoch;
//! 4. a word is replaced only by a CAS that re-validates tag and epoch, so an outcome from an
//!    older epoch can never change the word (it fails its epoch check).
//!
//! An epoch wraps after 2^24 transitions; an outcome would be mis-attributed only if its permit
//! were held across exactly a multiple of 2^24 transitions.

use std::fmt;

/// The three states of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; failures are counted.
    Closed,
    /// Calls are rejected until the open duration has passed.
    Open,
    /// A limited number of probe calls decide whether to close or to re-open.
    HalfOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        })
    }
}

const TAG_MASK: u64 = 0b11;
const LEVEL_SHIFT: u32 = 2;
const LEVEL_MASK: u64 = 0b11_1111;
const EPOCH_SHIFT: u32 = 8;
/// Epochs are 24 bits wide.
pub(crate) const EPOCH_MASK: u32 = (1 << 24) - 1;
const COUNT_SHIFT: u32 = 32;
const SUCCESSES_SHIFT: u32 = 48;

/// Largest back-off level the word can hold.
pub(crate) const MAX_LEVEL: u32 = LEVEL_MASK as u32;
/// Largest value of the 16-bit counters (failure threshold, probes, successes to close).
pub(crate) const MAX_COUNT: u32 = u16::MAX as u32;

/// A decoded view of the packed state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    fn pack(state: State, level: u32, epoch: u32, count: u32, successes: u32) -> Self {
        debug_assert!(level <= MAX_LEVEL && count <= MAX_COUNT && successes <= MAX_COUNT);
        let tag = match state {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        };
        Word(
            tag | (u64::from(level) << LEVEL_SHIFT)
                | (u64::from(epoch & EPOCH_MASK) << EPOCH_SHIFT)
                | (u64::from(count) << COUNT_SHIFT)
                | (u64::from(successes) << SUCCESSES_SHIFT),
        )
    }

    /// The initial word: Closed, epoch 0.
    pub(crate) const INITIAL: Word = Word(0);

    /// The word of a Closed breaker in `epoch` with no failures counted: the one state in
    /// which a success changes nothing.
    #[inline]
    pub(crate) fn closed_clean(epoch: u32) -> Word {
        Word(u64::from(epoch & EPOCH_MASK) << EPOCH_SHIFT)
    }

    pub(crate) fn state(self) -> State {
        match self.0 & TAG_MASK {
            0 => State::Closed,
            1 => State::Open,
            _ => State::HalfOpen,
        }
    }

    pub(crate) fn level(self) -> u32 {
        ((self.0 >> LEVEL_SHIFT) & LEVEL_MASK) as u32
    }

    pub(crate) fn epoch(self) -> u32 {
        (self.0 >> EPOCH_SHIFT) as u32 & EPOCH_MASK
    }

    pub(crate) fn count(self) -> u32 {
        ((self.0 >> COUNT_SHIFT) & 0xFFFF) as u32
    }

    pub(crate) fn successes(self) -> u32 {
        (self.0 >> SUCCESSES_SHIFT) as u32
    }

    /// `true` if the word is in `state` and carries `epoch`.
    pub(crate) fn is(self, state: State, epoch: u32) -> bool {
        self.state() == state && self.epoch() == epoch
    }

    /// Same state and epoch, new counters.
    pub(crate) fn with_counts(self, count: u32, successes: u32) -> Word {
        Word::pack(self.state(), self.level(), self.epoch(), count, successes)
    }

    fn next_epoch(self) -> u32 {
        self.epoch().wrapping_add(1) & EPOCH_MASK
    }

    /// Successor: Closed, back-off reset.
    pub(crate) fn to_closed(self) -> Word {
        Word::pack(State::Closed, 0, self.next_epoch(), 0, 0)
    }

    /// Successor: Open at back-off `level`.
    pub(crate) fn to_open(self, level: u32) -> Word {
        Word::pack(State::Open, level.min(MAX_LEVEL), self.next_epoch(), 0, 0)
    }

    /// Successor: HalfOpen with the caller's probe already admitted.
    pub(crate) fn to_half_open_with_probe(self) -> Word {
        Word::pack(State::HalfOpen, self.level(), self.next_epoch(), 1, 0)
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Word")
            .field("state", &self.state())
            .field("level", &self.level())
            .field("epoch", &self.epoch())
            .field("count", &self.count())
            .field("successes", &self.successes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        let w = Word::pack(State::HalfOpen, 7, EPOCH_MASK, MAX_COUNT, 12);
        assert_eq!(w.state(), State::HalfOpen);
        assert_eq!(w.level(), 7);
        assert_eq!(w.epoch(), EPOCH_MASK);
        assert_eq!(w.count(), MAX_COUNT);
        assert_eq!(w.successes(), 12);
        // The epoch wraps without touching the tag or the level.
        let o = w.to_open(MAX_LEVEL + 5);
        assert_eq!(
            (o.state(), o.epoch(), o.level()),
            (State::Open, 0, MAX_LEVEL)
        );
        assert_eq!((o.count(), o.successes()), (0, 0));
        let c = o.to_closed();
        assert_eq!((c.state(), c.epoch(), c.level()), (State::Closed, 1, 0));
    }
}

//! The collection's locks, and the one order in which a thread may take them.
//!
//! | rank | lock                        | what it guards                                          |
//! |------|-----------------------------|---------------------------------------------------------|
//! | 1    | `Jobs::merge`               | merges, index rebuilds, payload-index changes (long)    |
//! | 2    | `Jobs::flush`               | writing the frozen memtable; index configuration        |
//! | 3    | `Busy` (maintenance claims) | which segments a merge or a graph build works on        |
//! | 4    | `Follow::state`             | a reader's refresh: what it last saw on disk            |
//! | 5    | `Catalog::manifest`         | the committed manifest: reservations and swaps (brief)  |
//! | 6    | `Writer::wal`               | WAL appends; memtable order is WAL order                |
//! | 7    | `CollectionInner::state`    | memtables and the live segment list (brief)             |
//! | 8    | `Catalog::payload_defs`     | the copy of the declared payload indexes                |
//! | 9    | `Writer::poison`            | the reason the collection refuses writes                |
//!
//! A thread holding a lock takes only locks of a higher rank. Long work (segment writes, graph
//! and payload-index builds) runs under ranks 1–2 at most, never under the manifest, WAL or
//! state locks, so readers and writers wait only for reservations, swaps and installs.
//! The group-commit and maintenance-schedule mutexes are private to their modules and take
//! nothing under them but the poison lock.
//!
//! Debug builds (and so every test) check the order at each acquisition and panic naming both
//! locks; release builds carry no check.

use std::ops::{Deref, DerefMut};

/// A lock's place in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Rank {
    Merge = 1,
    Flush = 2,
    Busy = 3,
    Refresh = 4,
    Manifest = 5,
    Wal = 6,
    State = 7,
    PayloadDefs = 8,
    Poison = 9,
}

#[cfg(debug_assertions)]
mod held {
    use super::Rank;
    use std::cell::Cell;

    thread_local! {
        /// Bit `r` set: this thread holds the lock of rank `r`.
        static HELD: Cell<u16> = const { Cell::new(0) };
    }

    pub(super) fn enter(rank: Rank) {
        HELD.with(|h| {
            let held = h.get();
            let at_or_above = held & !((1u16 << rank as u8) - 1);
            assert!(
                at_or_above == 0,
                "lock order violated: taking {rank:?} while holding {:?}",
                ranks(at_or_above)
            );
            h.set(held | 1 << rank as u8);
        });
    }

    pub(super) fn leave(rank: Rank) {
        HELD.with(|h| h.set(h.get() & !(1u16 << rank as u8)));
    }

    fn ranks(bits: u16) -> Vec<u8> {
        (0..16).filter(|r| bits & (1 << r) != 0).collect()
    }
}

#[cfg(not(debug_assertions))]
mod held {
    use super::Rank;

    #[inline(always)]
    pub(super) fn enter(_: Rank) {}

    #[inline(always)]
    pub(super) fn leave(_: Rank) {}
}

/// Proof that this thread holds a lock of `rank`; clears the record when dropped.
#[derive(Debug)]
struct Held(Rank);

impl Held {
    fn enter(rank: Rank) -> Self {
        held::enter(rank);
        Held(rank)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        held::leave(self.0);
    }
}

/// A mutex with a place in the lock order.
#[derive(Debug)]
pub(crate) struct Mutex<T> {
    rank: Rank,
    inner: parking_lot::Mutex<T>,
}

impl<T> Mutex<T> {
    pub(crate) fn new(rank: Rank, value: T) -> Self {
        Self {
            rank,
            inner: parking_lot::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        let held = Held::enter(self.rank);
        MutexGuard {
            guard: self.inner.lock(),
            _held: held,
        }
    }
}

/// A held [`Mutex`].
pub(crate) struct MutexGuard<'a, T> {
    guard: parking_lot::MutexGuard<'a, T>,
    // Declared after `guard`, so the lock is released before the record of holding it.
    _held: Held,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// A readers–writer lock with a place in the lock order.
#[derive(Debug)]
pub(crate) struct RwLock<T> {
    rank: Rank,
    inner: parking_lot::RwLock<T>,
}

impl<T> RwLock<T> {
    pub(crate) fn new(rank: Rank, value: T) -> Self {
        Self {
            rank,
            inner: parking_lot::RwLock::new(value),
        }
    }

    /// A shared hold. Taking it again on the same thread (a recursive read, which can deadlock
    /// behind a waiting writer) is an order violation too.
    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        let held = Held::enter(self.rank);
        ReadGuard {
            guard: self.inner.read(),
            _held: held,
        }
    }

    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        let held = Held::enter(self.rank);
        WriteGuard {
            guard: self.inner.write(),
            _held: held,
        }
    }
}

/// A shared hold of a [`RwLock`].
pub(crate) struct ReadGuard<'a, T> {
    guard: parking_lot::RwLockReadGuard<'a, T>,
    _held: Held,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

/// An exclusive hold of a [`RwLock`].
pub(crate) struct WriteGuard<'a, T> {
    guard: parking_lot::RwLockWriteGuard<'a, T>,
    _held: Held,
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_allowed() {
        let (a, b) = (Mutex::new(Rank::Manifest, 1), RwLock::new(Rank::State, 2));
        let _a = a.lock();
        let _b = b.read();
        drop(_a);
        // Releasing out of order is fine; taking a lower rank afterwards is not (b is held).
    }

    #[test]
    #[should_panic(expected = "lock order violated: taking Manifest while holding [7]")]
    fn taking_a_lower_rank_panics() {
        let (a, b) = (Mutex::new(Rank::Manifest, 1), RwLock::new(Rank::State, 2));
        let _b = b.write();
        let _a = a.lock();
    }

    #[test]
    #[should_panic(expected = "lock order violated")]
    fn a_recursive_read_panics() {
        let b = RwLock::new(Rank::State, 2);
        let _one = b.read();
        let _two = b.read();
    }

    #[test]
    fn a_released_lock_can_be_taken_again() {
        let (a, b) = (Mutex::new(Rank::Manifest, 1), RwLock::new(Rank::State, 2));
        drop(b.write());
        let _a = a.lock();
        let _b = b.read();
    }
}

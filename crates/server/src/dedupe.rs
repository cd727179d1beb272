//! The idempotency index: every payment id accepted within the allowed lateness, whatever
//! the number of payments in between, with where its first answer is kept.
//!
//! A payment id is remembered as long as a payment with its event time could still be
//! admitted (dated at or after the watermark minus the allowed lateness). Once it is older,
//! the payment would be refused as late anyway, so a re-sent payment is never screened twice
//! however old it is: either it is found here, or it is refused as late.
//!
//! Per id the index keeps 16 bytes: a keyed 64-bit hash of the id and one word packing the
//! byte offset of the payment's decision record in the audit log with the hour of its event
//! time. Everything else (the id itself to confirm a hit, the digest of the canonical record
//! to tell a retry from a conflicting payment, the decision, score and rules to answer with)
//! is read from that audit record, so a hash collision costs one read and can never leave a
//! new payment unscreened. The table is open addressing with linear probing, grown by half
//! at 80 % load and swept incrementally (a few slots on every insert), so it holds between
//! 20 and 30 bytes per remembered id (see ARCHITECTURE.md for the budget).
//!
//! The hash is SipHash-1-3 under a random key chosen when the index is created and kept with
//! it in snapshots: ids come from clients, and a known hash would let one client fill a probe
//! run on purpose.

use siphasher::sip::SipHasher13;
use std::hash::Hasher;

/// One slot: the id's hash and `offset + 1 | hour << 48` (0 = empty).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct Slot {
    hash: u64,
    word: u64,
}

const OFFSET_MASK: u64 = (1 << 48) - 1;
const HOUR_SHIFT: u32 = 48;
/// Slots examined for expiry on every insert. With 8, an expired id lingers at most an
/// eighth of the table's size in inserts, so the load stays under 80 % at about 0.68 of live
/// ids per slot in a steady stream.
const SWEEP_PER_INSERT: usize = 8;
/// The hour tag is 16 bits, decoded against the cutoff at the start of the last full sweep
/// pass: valid while every live id is within 65,535 hours after it. A cutoff that moved
/// further than this since then (plus at most a year of lateness ahead) makes everything be
/// checked at once.
const TAG_GUARD_HOURS: i64 = 16_384;
/// The largest allowed lateness the tag arithmetic supports (one year).
pub const MAX_LATENESS_SECS: i64 = 366 * 86_400;

const MAGIC: &[u8; 8] = b"OSWIDX1\n";

/// Payment ids accepted within the allowed lateness, each with the audit offset of its
/// first answer.
pub struct IdIndex {
    slots: Vec<Slot>,
    len: usize,
    keys: [u64; 2],
    sweep_at: usize,
    /// Ids whose event time falls in an hour before this one are expired.
    cutoff_hour: i64,
    /// The cutoff when the current sweep pass started, and when the one before it did: every
    /// live id's hour is at or after the latter.
    pass_start: i64,
    prev_pass_start: i64,
}

/// Why an index file cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("idempotency index: {0}")]
pub struct IndexError(pub String);

impl IdIndex {
    /// An empty index under a new random key.
    pub fn new_random() -> Result<IdIndex, getrandom::Error> {
        let mut k = [0u8; 16];
        getrandom::fill(&mut k)?;
        let (a, b) = k.split_at(8);
        let key = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
        Ok(IdIndex::with_keys([key(a), key(b)]))
    }

    /// An empty index under the given key.
    pub fn with_keys(keys: [u64; 2]) -> IdIndex {
        IdIndex {
            slots: vec![Slot::default(); 1024],
            len: 0,
            keys,
            sweep_at: 0,
            cutoff_hour: i64::MIN,
            pass_start: i64::MIN,
            prev_pass_start: i64::MIN,
        }
    }

    /// The keyed hash of an id.
    pub fn hash(&self, id: &str) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.keys[0], self.keys[1]);
        h.write(id.as_bytes());
        h.finish()
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the table holds (slots, used or not).
    pub fn bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>()
    }

    fn home(&self, hash: u64) -> usize {
        ((hash as u128 * self.slots.len() as u128) >> 64) as usize
    }

    fn expired(&self, s: &Slot) -> bool {
        if self.cutoff_hour == i64::MIN {
            return false;
        }
        // Every live id's hour is at or after `prev_pass_start` and less than 65,536 hours
        // after it (the guard in `set_cutoff`), so the 16-bit tag decodes to one hour.
        let tag = (s.word >> HOUR_SHIFT) as u16;
        let hour = self.prev_pass_start + i64::from(tag.wrapping_sub(self.prev_pass_start as u16));
        hour < self.cutoff_hour
    }

    /// Audit offsets of every remembered id with this hash (almost always one or none; more
    /// only when two ids share a 64-bit hash). The caller confirms each against its record.
    pub fn offsets(&self, hash: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let cap = self.slots.len();
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s.word == 0 {
                return out;
            }
            if s.hash == hash && !self.expired(&s) {
                out.push((s.word & OFFSET_MASK) - 1);
            }
            i = if i + 1 == cap { 0 } else { i + 1 };
        }
    }

    /// Whether an id with event time `utc` would be kept (not already older than the cutoff).
    pub fn keeps(&self, utc: i64) -> bool {
        utc.div_euclid(3600) >= self.cutoff_hour
    }

    /// Remember an id (by its hash) accepted with event time `utc`, its first answer at audit
    /// offset `offset`. An id already older than the cutoff is not kept: a re-sent payment
    /// with its time is refused as late.
    pub fn insert(&mut self, hash: u64, utc: i64, offset: u64) {
        let hour = utc.div_euclid(3600);
        if hour < self.cutoff_hour || offset >= OFFSET_MASK {
            return;
        }
        if (self.len + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let word = (offset + 1) | ((hour as u16 as u64) << HOUR_SHIFT);
        self.place(Slot { hash, word });
        self.sweep(SWEEP_PER_INSERT);
    }

    fn place(&mut self, s: Slot) {
        let cap = self.slots.len();
        let mut i = self.home(s.hash);
        while self.slots[i].word != 0 {
            i = if i + 1 == cap { 0 } else { i + 1 };
        }
        self.slots[i] = s;
        self.len += 1;
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 3 / 2;
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); cap]);
        self.rebuild(old);
    }

    /// Put back every live slot of `old` (expired ones are dropped).
    fn rebuild(&mut self, old: Vec<Slot>) {
        self.len = 0;
        self.sweep_at = 0;
        for s in old {
            if s.word != 0 && !self.expired(&s) {
                self.place(s);
            }
        }
        self.pass_start = self.cutoff_hour;
        self.prev_pass_start = self.cutoff_hour;
    }

    /// The watermark moved: ids dated before `cutoff_utc` (the watermark minus the allowed
    /// lateness) are expired from now on.
    pub fn set_cutoff(&mut self, cutoff_utc: i64) {
        let hour = cutoff_utc.div_euclid(3600);
        if hour <= self.cutoff_hour {
            return;
        }
        let first = self.cutoff_hour == i64::MIN;
        self.cutoff_hour = hour;
        if first {
            self.pass_start = hour;
            self.prev_pass_start = hour;
        } else if hour - self.prev_pass_start > TAG_GUARD_HOURS {
            // Decoded against the old reference, then every survivor is at or after `hour`.
            let cap = self.slots.len();
            let old = std::mem::replace(&mut self.slots, vec![Slot::default(); cap]);
            self.rebuild(old);
        }
    }

    /// Check `n` slots for expiry, removing expired ids.
    fn sweep(&mut self, n: usize) {
        let cap = self.slots.len();
        for _ in 0..n {
            let i = self.sweep_at;
            let s = self.slots[i];
            if s.word != 0 && self.expired(&s) {
                // The slot is refilled from later in the run: look at it again.
                self.remove_at(i);
                continue;
            }
            self.sweep_at = if i + 1 == cap { 0 } else { i + 1 };
            if self.sweep_at == 0 {
                self.prev_pass_start = self.pass_start;
                self.pass_start = self.cutoff_hour;
            }
        }
    }

    /// Remove slot `i` and close the gap (backward shift, Knuth's algorithm R), so lookups
    /// never need tombstones.
    fn remove_at(&mut self, mut i: usize) {
        let cap = self.slots.len();
        let mut j = i;
        loop {
            j = if j + 1 == cap { 0 } else { j + 1 };
            let s = self.slots[j];
            if s.word == 0 {
                break;
            }
            let k = self.home(s.hash);
            // The entry at j may stay if its home lies cyclically in (i, j].
            let stays = if i <= j { i < k && k <= j } else { i < k || k <= j };
            if !stays {
                self.slots[i] = s;
                i = j;
            }
        }
        self.slots[i] = Slot::default();
        self.len -= 1;
    }

    /// The index as bytes, for a snapshot: magic, key, cutoff, count, then the live slots.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40 + self.len * 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.keys[0].to_le_bytes());
        out.extend_from_slice(&self.keys[1].to_le_bytes());
        out.extend_from_slice(&self.cutoff_hour.to_le_bytes());
        let live: Vec<&Slot> = self.slots.iter().filter(|s| s.word != 0 && !self.expired(s)).collect();
        out.extend_from_slice(&(live.len() as u64).to_le_bytes());
        for s in live {
            out.extend_from_slice(&s.hash.to_le_bytes());
            out.extend_from_slice(&s.word.to_le_bytes());
        }
        out
    }

    /// Read back what [`IdIndex::to_bytes`] wrote.
    pub fn from_bytes(b: &[u8]) -> Result<IdIndex, IndexError> {
        let u = |at: usize| -> Result<u64, IndexError> {
            b.get(at..at + 8)
                .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
                .ok_or_else(|| IndexError("file is cut short".into()))
        };
        if b.get(..8) != Some(&MAGIC[..]) {
            return Err(IndexError("not an index file (magic)".into()));
        }
        let n = u(32)? as usize;
        if b.len() != 40 + n.saturating_mul(16) {
            return Err(IndexError(format!("{} bytes where {n} ids need {}", b.len(), 40 + n * 16)));
        }
        let mut ix = IdIndex::with_keys([u(8)?, u(16)?]);
        let cutoff = u(24)? as i64;
        let cap = ((n + 1) * 5 / 4 + 1).next_power_of_two().max(1024);
        ix.slots = vec![Slot::default(); cap];
        for k in 0..n {
            let at = 40 + k * 16;
            ix.place(Slot { hash: u(at)?, word: u(at + 8)? });
        }
        if cutoff != i64::MIN {
            ix.cutoff_hour = cutoff;
            ix.pass_start = cutoff;
            ix.prev_pass_start = cutoff;
        }
        Ok(ix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(ix: &IdIndex, id: &str) -> Vec<u64> {
        ix.offsets(ix.hash(id))
    }

    /// Every id inserted within the window is found, whatever the volume; ids older than the
    /// cutoff go; memory stays within 32 bytes an id.
    #[test]
    fn remembers_every_id_inside_the_window_and_forgets_older_ones() {
        let mut ix = IdIndex::with_keys([1, 2]);
        let t0 = 1_735_689_600i64;
        let lateness = 86_400;
        // 300,000 ids over 3 days, 1.16 an event-time second: the window holds a third.
        let n = 300_000i64;
        let mut watermark = t0;
        for k in 0..n {
            let utc = t0 + k * 259_200 / n;
            watermark = watermark.max(utc);
            ix.set_cutoff(watermark - lateness);
            ix.insert(ix.hash(&format!("T{k}")), utc, k as u64 * 100);
        }
        let cutoff = watermark - lateness;
        for k in 0..n {
            let utc = t0 + k * 259_200 / n;
            let found = offsets(&ix, &format!("T{k}"));
            if utc >= cutoff {
                assert_eq!(found, vec![k as u64 * 100], "id T{k} inside the window was forgotten");
            } else if utc < cutoff - 2 * 3600 {
                // Well before the cutoff: expired (swept or at least not answered).
                assert!(found.is_empty(), "id T{k} far behind the window is still answered");
            }
        }
        let window = (0..n).filter(|k| t0 + k * 259_200 / n >= cutoff).count();
        assert!(ix.len() >= window && ix.len() < window * 3 / 2, "{} remembered for {window} in the window", ix.len());
        let per_id = ix.bytes() as f64 / window as f64;
        assert!(per_id <= 32.0, "{per_id:.1} bytes an id");
        assert!(offsets(&ix, "never").is_empty());
    }

    /// Two ids with the same hash are both kept (the caller tells them apart by their
    /// records); removal by the sweep keeps every other id reachable.
    #[test]
    fn colliding_hashes_and_removals_keep_every_live_id_reachable() {
        let mut ix = IdIndex::with_keys([7, 7]);
        ix.set_cutoff(0);
        ix.insert(42, 10 * 3600, 1);
        ix.insert(42, 10 * 3600, 2);
        assert_eq!(ix.offsets(42), vec![1, 2]);
        // Fill a small table with ids of two ages, expire the old ones, check the rest.
        let mut ix = IdIndex::with_keys([3, 4]);
        ix.set_cutoff(0);
        for k in 0..700u64 {
            let hour = if k % 2 == 0 { 1 } else { 5 };
            ix.insert(k.wrapping_mul(0x9E37_79B9_7F4A_7C15), hour * 3600, k);
        }
        ix.set_cutoff(3 * 3600);
        ix.sweep(ix.slots.len() * 2);
        for k in 0..700u64 {
            let o = ix.offsets(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            assert_eq!(o.is_empty(), k % 2 == 0, "id {k}");
        }
        assert_eq!(ix.len(), 350);
    }

    #[test]
    fn round_trips_through_bytes_and_refuses_a_damaged_file() {
        let mut ix = IdIndex::with_keys([5, 6]);
        ix.set_cutoff(100 * 3600);
        for k in 0..2000u64 {
            ix.insert(ix.hash(&format!("P{k}")), 100 * 3600 + k as i64, k);
        }
        let b = ix.to_bytes();
        let back = IdIndex::from_bytes(&b).unwrap();
        assert_eq!(back.len(), 2000);
        for k in 0..2000u64 {
            assert_eq!(back.offsets(back.hash(&format!("P{k}"))), vec![k]);
        }
        assert!(IdIndex::from_bytes(&b[..b.len() - 3]).is_err());
        assert!(IdIndex::from_bytes(b"garbage").is_err());
    }

    /// A jump of years in event time (a replay of an old log into a new one) cannot leave
    /// ids that look forever young to the 16-bit hour tag.
    #[test]
    fn a_jump_of_years_expires_everything_older() {
        let mut ix = IdIndex::with_keys([1, 1]);
        ix.set_cutoff(0);
        for k in 0..100u64 {
            ix.insert(k + 1, 3600 * 10, k);
        }
        // 65,536 hours later the 16-bit tags would read the same hour again.
        ix.set_cutoff(3600 * (10 + 65_536));
        assert_eq!(ix.len(), 0);
        assert!(ix.offsets(1).is_empty());
    }
}

//! The retry memory: recently seen payment ids with the answer each got, so a payment sent
//! again gets its first decision back instead of being processed twice.

use osecwatch_engine::Decision;
use std::collections::HashMap;

/// Recently seen payment ids, for answering retries without processing a payment twice.
/// Bounded (oldest forgotten first) so memory stays flat; ids are kept as 64-bit FNV-1a
/// hashes with the decision they got.
pub(crate) struct Seen {
    map: HashMap<u64, (u64, Decision, f64)>,
    order: std::collections::VecDeque<u64>,
    cap: usize,
}

impl Seen {
    pub(crate) fn new(cap: usize) -> Seen {
        Seen { map: HashMap::with_capacity(cap.min(1 << 20)), order: Default::default(), cap }
    }
    fn key(id: &str) -> u64 {
        osecwatch_engine::fnv1a(id.as_bytes())
    }
    pub(crate) fn get(&self, id: &str) -> Option<&(u64, Decision, f64)> {
        self.map.get(&Seen::key(id))
    }
    pub(crate) fn insert(&mut self, id: &str, v: (u64, Decision, f64)) {
        self.insert_hash(Seen::key(id), v)
    }
    pub(crate) fn insert_hash(&mut self, k: u64, v: (u64, Decision, f64)) {
        if self.map.insert(k, v).is_none() {
            self.order.push_back(k);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    /// Every remembered id with its answer, oldest first (for the snapshot).
    pub(crate) fn entries(&self) -> Vec<(u64, u64, Decision, f64)> {
        self.order.iter().filter_map(|k| self.map.get(k).map(|v| (*k, v.0, v.1, v.2))).collect()
    }
}

/// How many recent payment ids are remembered for retries.
pub const DEDUPE_WINDOW: usize = 500_000;

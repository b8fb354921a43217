//! One socket's pending queries by their ID: a small open-addressing table, kept at most half
//! full.
//!
//! Written here rather than a `HashMap`: every query is looked up by ID four times (whether its
//! random ID is taken, its entry, its answer's match, its removal), and hashing each time cost
//! a good share of a query's own work. IDs are drawn at random, so their low bits place them
//! well without hashing. Nor is it a table with a place for each of the 65,536 IDs: each query
//! touched a random line of its 128 KiB, most often a cache miss. This table has 4-octet
//! entries, at least twice as many as the most queries the socket has had in flight (a few
//! cache lines for the usual dozen, 32 KiB at the cap of 4,096), and never shrinks.
//!
//! An answer's ID is the sender's to choose, but a lookup only reads the cluster its ID falls
//! in, and clusters stay short in a table at most half full of random IDs.

/// The most slots a table can name: slot numbers are stored plus one, in two bytes.
pub(crate) const MAX_SLOTS: usize = u16::MAX as usize;

/// Entries a new table has: room for 16 IDs.
const INITIAL_ENTRIES: usize = 32;

/// Slot numbers by query ID.
pub(crate) struct IdTable {
    /// Per entry, the slot number plus one in the high half and the ID in the low half; 0 for
    /// a free entry. A power of two long.
    entries: Box<[u32]>,
    len: usize,
}

impl IdTable {
    pub(crate) fn new() -> Self {
        IdTable {
            entries: vec![0; INITIAL_ENTRIES].into_boxed_slice(),
            len: 0,
        }
    }

    /// How many IDs are in use.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn contains(&self, id: u16) -> bool {
        self.get(id).is_some()
    }

    /// The slot of the query with `id`.
    pub(crate) fn get(&self, id: u16) -> Option<u32> {
        self.find(id).map(|at| (self.entries[at] >> 16) - 1)
    }

    /// Gives `id` to `slot` (below [`MAX_SLOTS`]).
    pub(crate) fn insert(&mut self, id: u16, slot: u32) {
        let entry = (u32::from(u16::try_from(slot + 1).expect("a slot number below MAX_SLOTS"))
            << 16)
            | u32::from(id);
        let at = match self.probe(id) {
            Ok(at) => {
                self.entries[at] = entry;
                return;
            }
            Err(_) if 2 * (self.len + 1) > self.entries.len() => {
                self.grow();
                self.free_place(id)
            }
            Err(free) => free,
        };
        self.entries[at] = entry;
        self.len += 1;
    }

    /// Frees `id`; the slot it had, if any.
    pub(crate) fn remove(&mut self, id: u16) -> Option<u32> {
        let mut hole = self.find(id)?;
        let slot = (self.entries[hole] >> 16) - 1;
        self.entries[hole] = 0;
        self.len -= 1;
        // Entries after the hole, up to the next free one, that may not be passed over any
        // more are moved back into it, so that no lookup stops short of them.
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        while self.entries[next] != 0 {
            let home = self.home(self.entries[next] as u16);
            // Whether `home` is cyclically outside (hole, next]: the entry may fill the hole.
            if (next.wrapping_sub(home) & mask) >= (next.wrapping_sub(hole) & mask) {
                self.entries[hole] = self.entries[next];
                self.entries[next] = 0;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        Some(slot)
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// Where the search for `id` starts.
    fn home(&self, id: u16) -> usize {
        usize::from(id) & self.mask()
    }

    /// The entry that holds `id`.
    fn find(&self, id: u16) -> Option<usize> {
        self.probe(id).ok()
    }

    /// The entry that holds `id` (`Ok`), or else the free entry that ends the run of entries
    /// from its home, where it would go (`Err`): an ID in the table is never past that.
    fn probe(&self, id: u16) -> Result<usize, usize> {
        let mask = self.mask();
        let mut at = self.home(id);
        loop {
            match self.entries[at] {
                0 => return Err(at),
                entry if entry as u16 == id => return Ok(at),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// The first free entry from `id`'s home on, for an ID not in the table (there always is
    /// one: the table is never more than half full).
    fn free_place(&self, id: u16) -> usize {
        let mask = self.mask();
        let mut at = self.home(id);
        while self.entries[at] != 0 {
            at = (at + 1) & mask;
        }
        at
    }

    fn grow(&mut self) {
        let doubled = vec![0; 2 * self.entries.len()].into_boxed_slice();
        let old = std::mem::replace(&mut self.entries, doubled);
        for entry in old.iter().copied().filter(|&entry| entry != 0) {
            let at = self.free_place(entry as u16);
            self.entries[at] = entry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn ids_map_to_slots_until_removed() {
        let mut table = IdTable::new();
        assert_eq!(
            (table.len(), table.get(7), table.contains(7)),
            (0, None, false)
        );
        table.insert(7, 0);
        table.insert(u16::MAX, (MAX_SLOTS - 1) as u32);
        table.insert(0, 12);
        assert_eq!(table.len(), 3);
        assert_eq!(table.get(7), Some(0));
        assert_eq!(table.get(u16::MAX), Some((MAX_SLOTS - 1) as u32));
        assert!(table.contains(0) && !table.contains(1));
        table.insert(7, 5); // given again: still one ID in use
        assert_eq!((table.len(), table.get(7)), (3, Some(5)));
        assert_eq!(table.remove(7), Some(5));
        assert_eq!(table.remove(7), None);
        assert_eq!((table.len(), table.get(7)), (2, None));
    }

    #[test]
    fn the_table_grows_with_the_queries_in_flight_and_no_further() {
        let mut table = IdTable::new();
        for id in 0..4096u16 {
            table.insert(id.wrapping_mul(40_503), u32::from(id));
        }
        assert_eq!(table.len(), 4096);
        assert_eq!(table.entries.len(), 8192, "at most half full");
        for id in 0..4096u16 {
            assert_eq!(table.get(id.wrapping_mul(40_503)), Some(u32::from(id)));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Inserts and removals, with IDs drawn from a narrow range or sharing their low bits
        /// so that they collide and wrap around the table's end, against a `HashMap`.
        #[test]
        fn the_table_agrees_with_a_map(
            steps in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), 0u16..48, 0u16..4, 0u32..1000),
                0..400,
            ),
        ) {
            let mut table = IdTable::new();
            let mut model = HashMap::new();
            for (insert, low, high, slot) in steps {
                // Low bits near the end of a 32- or 64-entry table, high bits that do not place.
                let id = (high << 12) | (low + 16);
                if insert {
                    table.insert(id, slot);
                    model.insert(id, slot);
                } else {
                    proptest::prop_assert_eq!(table.remove(id), model.remove(&id));
                }
                proptest::prop_assert_eq!(table.len(), model.len());
                proptest::prop_assert!(2 * table.len() <= table.entries.len());
                for probe in 0..64u16 {
                    for high in 0..4 {
                        let id = (high << 12) | probe;
                        proptest::prop_assert_eq!(table.get(id), model.get(&id).copied());
                    }
                }
            }
        }
    }
}

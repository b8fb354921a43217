//! One socket's pending queries by their ID: a table with a place for each of the 65,536 IDs.
//!
//! Written here rather than a `HashMap`: every query is looked up by ID four times (whether its
//! random ID is taken, its entry, its answer's match, its removal), and hashing and probing
//! each time cost a good share of a query's own work. A direct table costs an index each time,
//! and 128 KiB per socket (two bytes an ID), touched only as IDs are drawn.

/// The most slots a table can name: slot numbers are stored plus one, in two bytes.
pub(crate) const MAX_SLOTS: usize = u16::MAX as usize;

/// Slot numbers by query ID.
pub(crate) struct IdTable {
    /// Slot number plus one by ID; 0 for an ID not in use.
    slots: Box<[u16]>,
    len: usize,
}

impl IdTable {
    pub(crate) fn new() -> Self {
        IdTable {
            slots: vec![0; 1 << 16].into_boxed_slice(),
            len: 0,
        }
    }

    /// How many IDs are in use.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn contains(&self, id: u16) -> bool {
        self.slots[usize::from(id)] != 0
    }

    /// The slot of the query with `id`.
    pub(crate) fn get(&self, id: u16) -> Option<u32> {
        match self.slots[usize::from(id)] {
            0 => None,
            entry => Some(u32::from(entry) - 1),
        }
    }

    /// Gives `id` to `slot` (below [`MAX_SLOTS`]).
    pub(crate) fn insert(&mut self, id: u16, slot: u32) {
        let entry = u16::try_from(slot + 1).expect("a slot number below MAX_SLOTS");
        let place = &mut self.slots[usize::from(id)];
        if *place == 0 {
            self.len += 1;
        }
        *place = entry;
    }

    /// Frees `id`; the slot it had, if any.
    pub(crate) fn remove(&mut self, id: u16) -> Option<u32> {
        let entry = std::mem::take(&mut self.slots[usize::from(id)]);
        (entry != 0).then(|| {
            self.len -= 1;
            u32::from(entry) - 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! [`StockBudget`]: how many ready instances all stocks of one runtime may hold together, so
//! stocks never take the pooling allocator's slots from the calls themselves.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The share of the pooling allocator's slots all stocks together may hold: one in four.
const SHARE_OF_SLOTS: u32 = 4;

/// How many ready instances all stocks of one runtime may hold together.
#[derive(Debug)]
pub struct StockBudget {
    held: AtomicUsize,
    limit: usize,
}

impl StockBudget {
    /// A budget of a quarter of `slots`.
    pub(crate) fn for_slots(slots: u32) -> Self {
        Self {
            held: AtomicUsize::new(0),
            limit: (slots / SHARE_OF_SLOTS) as usize,
        }
    }

    /// Takes one unit, if any is left.
    pub(crate) fn acquire(&self) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.limit).then_some(held + 1)
            })
            .is_ok()
    }

    /// Gives `units` back.
    pub(crate) fn release(&self, units: usize) {
        self.held.fetch_sub(units, Ordering::AcqRel);
    }

    /// Whether a unit is left now.
    pub(crate) fn has_room(&self) -> bool {
        self.held() < self.limit
    }

    /// Ready instances held by every stock now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The most ready instances all stocks may hold.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_quarter_of_the_slots_and_never_overdrawn() {
        let budget = StockBudget::for_slots(10);
        assert_eq!(budget.limit(), 2);
        assert!(budget.acquire());
        assert!(budget.acquire());
        assert!(!budget.acquire(), "a third unit is over the limit");
        assert!(!budget.has_room());
        budget.release(1);
        assert!(budget.has_room());
        assert_eq!(budget.held(), 1);
    }
}

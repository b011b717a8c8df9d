//! How an operator's limit and a key owner's limit combine, where the store itself needs the answer (the ledger
//! holds money against the enforced spend cap). The gateway folds the other fields the same way.

use crate::ApiKey;

/// The tighter of two optional upper bounds (`None` = unbounded): the smaller when both are set.
pub fn tighter_limit(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl ApiKey {
    /// The spend cap the ledger enforces: the operator's and the owner's, whichever is lower.
    pub fn effective_spend_cap(&self) -> Option<i64> {
        tighter_limit(self.spend_cap, self.owner.spend_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::tighter_limit;

    #[test]
    fn the_tighter_bound_wins_and_none_is_unbounded() {
        assert_eq!(tighter_limit(Some(5), Some(3)), Some(3));
        assert_eq!(tighter_limit(Some(5), None), Some(5));
        assert_eq!(tighter_limit(None, Some(7)), Some(7));
        assert_eq!(tighter_limit(None, None), None);
    }
}

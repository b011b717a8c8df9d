//! What a failed store call means, for the tests that check refusals.

use store::StoreError;

/// Whether a store call failed because the row is not there.
pub fn not_found<T>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

/// Whether a store call failed on a name or key another row holds.
pub fn conflict<T>(result: Result<T, StoreError>) -> bool {
    conflicting(result).is_some()
}

/// What a store call that failed on a name or key another row holds names (as `"key prod"`); `None` for any other
/// outcome.
pub fn conflicting<T>(result: Result<T, StoreError>) -> Option<String> {
    match result {
        Err(StoreError::Conflict(what)) => Some(what),
        _ => None,
    }
}

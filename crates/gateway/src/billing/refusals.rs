//! Folding the log rows of requests refused before any key was known (missing or invalid key, a limited address,
//! an unknown route): a flood of them must not write one row each. The first refusal of a (client address,
//! status, minute) bucket is written at once as its row (`count` 1, its own request id); later ones in that
//! bucket only add to the bucket here, and the writer adds those to the row's `count` when the minute is over, and
//! at shutdown. So a bucket costs one insert and one update, whatever the flood.
//!
//! Bounded: at most `MAX_BUCKETS` addresses are tracked at a time; refusals from further addresses share one
//! overflow bucket per status and minute, whose row has no client address. Owned by the writer task alone (no
//! lock); a row's minute is its arrival time's.

use std::collections::{BTreeMap, HashMap};
use store::LogRow;

/// Addresses tracked at once, over all open minutes.
pub const MAX_BUCKETS: usize = 4096;

/// A bucket within a minute: the client's address (`None`: the overflow bucket) and the status sent.
type BucketKey = (Option<String>, i64);

/// The row a bucket's requests are counted on, and how many were folded into it since the last flush.
struct Bucket {
    request_id: String,
    pending: i64,
}

#[derive(Default)]
pub struct RefusalFolder {
    minutes: BTreeMap<i64, HashMap<BucketKey, Bucket>>,
    tracked: usize,
}

impl RefusalFolder {
    /// Takes a refusal. Returns true when it opens a bucket: write the row (its address is cleared when it
    /// opens the overflow bucket); false when it was counted on an open bucket's row (nothing to write now).
    pub fn take(&mut self, row: &mut LogRow) -> bool {
        let mut key: BucketKey = (row.client_ip.clone(), row.status);
        let full = self.tracked >= MAX_BUCKETS;
        let buckets = self.minutes.entry(minute_of(row)).or_default();
        if full && !buckets.contains_key(&key) {
            key.0 = None;
            row.client_ip = None;
        }
        if let Some(bucket) = buckets.get_mut(&key) {
            bucket.pending += 1;
            return false;
        }
        buckets.insert(
            key,
            Bucket {
                request_id: row.request_id.clone(),
                pending: 0,
            },
        );
        self.tracked += 1;
        true
    }

    /// The counts to add for the minutes before `now_minute` (`(request_id, n)`), forgetting those minutes.
    pub fn close_before(&mut self, now_minute: i64) -> Vec<(String, i64)> {
        let open = self.minutes.split_off(&now_minute);
        let closed = std::mem::replace(&mut self.minutes, open);
        self.release(closed)
    }

    /// Every pending count, forgetting everything (at shutdown).
    pub fn close_all(&mut self) -> Vec<(String, i64)> {
        let closed = std::mem::take(&mut self.minutes);
        self.release(closed)
    }

    fn release(&mut self, closed: BTreeMap<i64, HashMap<BucketKey, Bucket>>) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        for bucket in closed.into_values().flat_map(HashMap::into_values) {
            self.tracked = self.tracked.saturating_sub(1);
            if bucket.pending > 0 {
                counts.push((bucket.request_id, bucket.pending));
            }
        }
        counts
    }
}

/// Minutes since the epoch of a row's arrival.
pub fn minute_of(row: &LogRow) -> i64 {
    row.time.timestamp().div_euclid(60)
}

/// Minutes since the epoch now.
pub fn minute_of_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn refusal(id: u32, ip: &str, status: i64, second: i64) -> LogRow {
        LogRow {
            request_id: format!("req_{id}"),
            time: Utc.timestamp_opt(600 + second, 0).unwrap(),
            client_ip: Some(ip.to_owned()),
            status,
            ..LogRow::default()
        }
    }

    fn take(f: &mut RefusalFolder, mut row: LogRow) -> Option<LogRow> {
        f.take(&mut row).then_some(row)
    }

    #[test]
    fn one_row_per_address_status_and_minute_carries_the_count() {
        let mut f = RefusalFolder::default();
        let mut written = Vec::new();
        for i in 0..1000 {
            let status = if i < 30 { 401 } else { 429 };
            written.extend(take(&mut f, refusal(i, "203.0.113.1", status, 5)));
        }
        written.extend(take(&mut f, refusal(1000, "203.0.113.2", 401, 6)));
        written.extend(take(&mut f, refusal(1001, "203.0.113.1", 401, 65)));
        let ids: Vec<&str> = written.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["req_0", "req_30", "req_1000", "req_1001"]);

        // Minute 10 is over once minute 11 runs; minute 11 stays open.
        let mut counts = f.close_before(11);
        counts.sort();
        assert_eq!(
            counts,
            [("req_0".to_owned(), 29), ("req_30".to_owned(), 969)]
        );
        assert!(f.close_before(11).is_empty());
        assert!(take(&mut f, refusal(1002, "203.0.113.1", 401, 70)).is_none());
        assert_eq!(f.close_all(), [("req_1001".to_owned(), 1)]);
        assert_eq!(f.tracked, 0);
    }

    #[test]
    fn addresses_past_the_bound_share_one_overflow_row() {
        let mut f = RefusalFolder::default();
        let mut written = 0;
        for i in 0..u32::try_from(MAX_BUCKETS).unwrap() + 500 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            if let Some(row) = take(&mut f, refusal(i, &ip, 401, 1)) {
                written += 1;
                if written > MAX_BUCKETS {
                    assert_eq!(row.client_ip, None, "the overflow row names no address");
                }
            }
        }
        assert_eq!(written, MAX_BUCKETS + 1);
        let counts = f.close_all();
        assert_eq!(counts.iter().map(|c| c.1).sum::<i64>(), 499);
    }
}

//! The key as enforced: each limit is the tighter of what the operator set (the key's own fields, or the group's
//! default rate where the operator set none) and what the key's owner set through self-service. Auth, rate limits
//! and the relay read only this; the self-service view shows it.

use super::snapshot::parse_cidr;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use store::{ApiKey, tighter_limit};

/// The operator's ceilings, as they apply: the key's fields, with the group's default rates where the key has
/// none (what applied before the owner set anything).
pub struct Ceiling {
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
}

impl Ceiling {
    pub fn of(key: &ApiKey, (group_rpm, group_tpm): (Option<i64>, Option<i64>)) -> Self {
        Self {
            rpm_limit: key.rpm_limit.or(group_rpm),
            tpm_limit: key.tpm_limit.or(group_tpm),
        }
    }
}

/// `key` with every limit folded to the tighter of the operator's and the owner's. Both allowlists must pass,
/// so the enforced one holds the blocks both contain; when both are set but share no address the key is
/// usable from nowhere, and is enforced as disabled. The owner's values are kept in `owner`.
pub fn enforced(key: &ApiKey, group_limits: (Option<i64>, Option<i64>)) -> ApiKey {
    let ceiling = Ceiling::of(key, group_limits);
    let own = &key.owner;
    let ip_allowlist = both_allow(&key.ip_allowlist, &own.ip_allowlist);
    let nowhere =
        ip_allowlist.is_empty() && !key.ip_allowlist.is_empty() && !own.ip_allowlist.is_empty();
    ApiKey {
        enabled: key.enabled && !own.disabled && !nowhere,
        models: both_listed(key.models.as_deref(), own.models.as_deref()),
        spend_cap: tighter_limit(key.spend_cap, own.spend_cap),
        expires_at: earlier(key.expires_at, own.expires_at),
        ip_allowlist,
        rpm_limit: tighter_limit(ceiling.rpm_limit, own.rpm_limit),
        tpm_limit: tighter_limit(ceiling.tpm_limit, own.tpm_limit),
        ..key.clone()
    }
}

/// Models both lists allow, in the operator's order (`None` = every model).
fn both_listed(op: Option<&[String]>, own: Option<&[String]>) -> Option<Vec<String>> {
    match (op, own) {
        (Some(op), Some(own)) => Some(op.iter().filter(|m| own.contains(m)).cloned().collect()),
        (Some(list), None) | (None, Some(list)) => Some(list.to_vec()),
        (None, None) => None,
    }
}

fn earlier(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The CIDR blocks inside both allowlists (an empty list allows every address). Two blocks are either nested
/// or disjoint, so the addresses both allow are, for each overlapping pair, the smaller block.
pub fn both_allow(op: &[String], own: &[String]) -> Vec<String> {
    if op.is_empty() || own.is_empty() {
        return if op.is_empty() {
            own.to_vec()
        } else {
            op.to_vec()
        };
    }
    let op: Vec<IpNet> = op.iter().filter_map(|c| parse_cidr(c)).collect();
    let mut out: Vec<String> = Vec::new();
    for b in own.iter().filter_map(|c| parse_cidr(c)) {
        for a in &op {
            let inner = if a.contains(&b) {
                b
            } else if b.contains(a) {
                *a
            } else {
                continue;
            };
            let text = inner.to_string();
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// Whether every address of `block` lies inside some block of `list` (always, for an empty list).
pub fn within(block: &IpNet, list: &[String]) -> bool {
    list.is_empty()
        || list
            .iter()
            .filter_map(|c| parse_cidr(c))
            .any(|a| a.contains(block))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn allowlists_intersect_by_block() {
        let op = strings(&["10.0.0.0/8", "192.168.1.0/24"]);
        assert_eq!(both_allow(&op, &[]), op);
        assert_eq!(both_allow(&[], &op), op);
        assert_eq!(
            both_allow(&op, &strings(&["10.1.0.0/16", "172.16.0.1"])),
            strings(&["10.1.0.0/16"])
        );
        assert_eq!(
            both_allow(&strings(&["10.1.2.3"]), &strings(&["10.0.0.0/8"])),
            strings(&["10.1.2.3/32"])
        );
        assert!(both_allow(&op, &strings(&["172.16.0.0/12"])).is_empty());
    }

    #[test]
    fn models_intersect_in_the_operators_order() {
        let op = strings(&["a", "b", "c"]);
        let own = strings(&["c", "a", "z"]);
        assert_eq!(
            both_listed(Some(&op), Some(&own)),
            Some(strings(&["a", "c"]))
        );
        assert_eq!(both_listed(None, Some(&own)), Some(own.clone()));
        assert_eq!(both_listed(None, None), None);
    }

    #[test]
    fn a_block_lies_within_a_list() {
        let net = |s: &str| parse_cidr(s).unwrap();
        let op = strings(&["10.0.0.0/8"]);
        assert!(within(&net("10.2.0.0/16"), &op));
        assert!(!within(&net("0.0.0.0/0"), &op));
        assert!(within(&net("0.0.0.0/0"), &[]));
    }
}

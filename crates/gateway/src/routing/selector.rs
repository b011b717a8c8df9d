//! `ChannelSelector`: among usable channels not yet tried by this request, the highest priority tier first, then
//! weighted random inside the tier. A tier whose weights are all 0 is chosen uniformly; a weight-0 channel in a
//! weighted tier is a standby, used once its tier-mates have been tried.

use crate::catalog::{ChannelEntry, Snapshot};
use rand::Rng;
use std::sync::Arc;

/// Usable for a model right now: enabled, has an adapter for chat, and at least one healthy key.
pub fn usable(c: &ChannelEntry) -> bool {
    c.channel.enabled && providers::adapter_for(c.channel.kind).is_some() && c.has_healthy_key()
}

/// The next channel for `model` among those that `serves` accepts (for chat: [`usable`]) and this request has not
/// tried yet.
pub fn select(
    snap: &Snapshot,
    model: &str,
    group: &str,
    tried: &[i64],
    serves: &(dyn Fn(&ChannelEntry) -> bool + Sync),
) -> Option<Arc<ChannelEntry>> {
    let candidates: Vec<&Arc<ChannelEntry>> = snap
        .channels_for(model, group)
        .filter(|c| serves(c) && !tried.contains(&c.channel.id))
        .collect();
    let top = candidates.iter().map(|c| c.channel.priority).max()?;
    let tier: Vec<&Arc<ChannelEntry>> = candidates
        .into_iter()
        .filter(|c| c.channel.priority == top)
        .collect();
    pick_weighted(&tier, &mut rand::rng()).cloned()
}

fn pick_weighted<'a, R: Rng>(
    tier: &[&'a Arc<ChannelEntry>],
    rng: &mut R,
) -> Option<&'a Arc<ChannelEntry>> {
    let total: i64 = tier.iter().map(|c| c.channel.weight.max(0)).sum();
    if total == 0 {
        return tier.get(rng.random_range(0..tier.len().max(1))).copied();
    }
    let mut roll = rng.random_range(0..total);
    for c in tier {
        let w = c.channel.weight.max(0);
        if roll < w {
            return Some(c);
        }
        roll -= w;
    }
    tier.last().copied()
}

#[cfg(test)]
mod tests;

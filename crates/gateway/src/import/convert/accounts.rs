//! Users and their keys: balances and quotas to micro-units, key secrets hashed, caps, expiry, IP allowlists.

use super::*;

pub(super) fn users(
    c: &mut Converter,
    flavour: Flavour,
    rows: &[SourceRow],
) -> anyhow::Result<Vec<ImportedUser>> {
    let mut out = Vec::new();
    for row in rows {
        // new-api soft-deletes; one-api marks a deleted user with status 3 (and renames it).
        let deleted =
            row.flag("deleted_at") || (flavour == Flavour::OneApi && row.int("status") == Some(3));
        if deleted {
            c.report.leave("users");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let name = row
            .nonblank("username")
            .ok_or_else(|| anyhow!("{}: no username", row.at()))?
            .to_owned();
        let at = || format!("user {name} (id={id})");
        let balance = c.money(row.int("quota").unwrap_or(0), &at)?;
        let spent = c.money(row.int("used_quota").unwrap_or(0), &at)?;
        // new-api stores bcrypt hashes; the dashboard login verifies them as they are.
        let password_hash = row
            .nonblank("password")
            .filter(|p| p.starts_with("$2"))
            .map(str::to_owned);
        out.push(ImportedUser {
            source_id: id,
            spent,
            user: NewUser {
                name,
                password_hash,
                group: row.nonblank("group").unwrap_or("default").to_owned(),
                balance,
                enabled: row.int("status") == Some(1),
                // 10 admin, 100 root.
                admin: row.int("role").unwrap_or(0) >= 10,
            },
        });
    }
    Ok(out)
}

/// IPs and CIDRs as Tollgate stores them (CIDR). An entry that is neither is an error: dropping it could turn
/// a list of one into "any address".
pub(super) fn allowlist(row: &SourceRow) -> anyhow::Result<Vec<String>> {
    let text = row
        .nonblank("allow_ips")
        .or_else(|| row.nonblank("subnet"))
        .unwrap_or_default();
    split(text, &['\n', '\r', ',', ' '])
        .into_iter()
        .map(|entry| {
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                return Ok(net.to_string());
            }
            entry
                .parse::<std::net::IpAddr>()
                .map(|ip| ipnet::IpNet::from(ip).to_string())
                .map_err(|_| {
                    anyhow!(
                        "{}: {entry:?} in its IP allowlist is not an IP address or CIDR",
                        row.at()
                    )
                })
        })
        .collect()
}

pub(super) fn keys(
    c: &mut Converter,
    rows: &[SourceRow],
    users: &HashMap<i64, &str>,
) -> anyhow::Result<Vec<ImportedKey>> {
    let mut names: HashMap<(i64, String), u32> = HashMap::new();
    let mut out = Vec::new();
    for row in rows {
        if row.flag("deleted_at") {
            c.report.leave("tokens");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let user_id = row.int("user_id").unwrap_or(0);
        let Some(user_group) = users.get(&user_id) else {
            c.report.notes.push(format!(
                "token id={id} left behind: its user (id={user_id}) is not imported"
            ));
            c.report.leave("tokens");
            continue;
        };
        let key = row
            .nonblank("key")
            .ok_or_else(|| anyhow!("{}: no key", row.at()))?;
        let secret = if key.starts_with("sk-") {
            key.to_owned()
        } else {
            format!("sk-{key}")
        };
        let base_name = row
            .nonblank("name")
            .map_or_else(|| format!("key-{id}"), str::to_owned);
        let seen = names.entry((user_id, base_name.clone())).or_default();
        *seen += 1;
        let name = if *seen > 1 {
            format!("{base_name} #{id}")
        } else {
            base_name
        };
        if let Some(group) = row.nonblank("group")
            && group != *user_group
        {
            c.report.notes.push(format!(
                "token id={id}: its own group {group:?} is not carried (keys use their user's group, {user_group:?})"
            ));
        }
        let models = if row.int("model_limits_enabled").is_some() {
            row.flag("model_limits_enabled")
                .then(|| split(row.text("model_limits").unwrap_or_default(), &[',']))
        } else {
            Some(split(row.text("models").unwrap_or_default(), &[',']))
        }
        .filter(|m| !m.is_empty());
        let at = || format!("token id={id}");
        let remaining = if row.flag("unlimited_quota") {
            None
        } else {
            Some(c.money(row.int("remain_quota").unwrap_or(0).max(0), &at)?)
        };
        let spent = c.money(row.int("used_quota").unwrap_or(0).max(0), &at)?;
        let expires_at = match row.int("expired_time") {
            Some(t) if t > 0 => Some(
                time_from_secs(t)
                    .ok_or_else(|| anyhow!("{}: expired_time {t} is not a time", row.at()))?,
            ),
            _ => None,
        };
        // 1 enabled, 4 exhausted (the cap of 0 refuses it until a top-up); 2 disabled, 3 expired.
        let enabled = matches!(row.int("status"), Some(1 | 4) | None);
        out.push(ImportedKey {
            source_id: id,
            user_source_id: user_id,
            remaining,
            spent,
            key: NewApiKey {
                user_id: 0,
                name,
                key_hash: hash_key(&secret),
                prefix: display_prefix(&secret),
                enabled,
                models,
                spend_cap: None,
                expires_at,
                ip_allowlist: allowlist(row)?,
                rpm_limit: None,
                tpm_limit: None,
            },
        });
    }
    Ok(out)
}

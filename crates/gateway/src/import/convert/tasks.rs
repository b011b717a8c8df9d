//! Redemption codes and Midjourney tasks.

use super::*;

pub(super) fn codes(c: &mut Converter, rows: &[SourceRow]) -> anyhow::Result<Vec<ImportedCode>> {
    let now = Utc::now().timestamp();
    let mut out = Vec::new();
    for row in rows {
        let expired = row.int("expired_time").is_some_and(|t| t > 0 && t < now);
        if row.flag("deleted_at") || row.int("status") != Some(1) || expired {
            c.report.leave("redemptions");
            continue;
        }
        let code = row
            .nonblank("key")
            .ok_or_else(|| anyhow!("{}: no key", row.at()))?
            .to_owned();
        let at = || row.at();
        let amount = c.money(row.int("quota").unwrap_or(0), &at)?;
        if amount <= 0 {
            bail!("{}: an unused code worth {amount}", row.at());
        }
        out.push(ImportedCode { code, amount });
    }
    Ok(out)
}

pub(super) fn mj_tasks(
    c: &mut Converter,
    rows: &[SourceRow],
) -> anyhow::Result<Vec<ImportedMjTask>> {
    let mut out = Vec::new();
    for row in rows {
        let status = row.nonblank("status").unwrap_or("NOT_START").to_owned();
        let progress = row.nonblank("progress").unwrap_or("0%").to_owned();
        if matches!(status.as_str(), "SUCCESS" | "FAILURE") || progress == "100%" {
            c.report.leave("midjourneys");
            continue;
        }
        let id = row
            .int("id")
            .ok_or_else(|| anyhow!("{}: no id", row.at()))?;
        let Some(upstream_id) = row.nonblank("mj_id") else {
            // new-api fails such tasks itself: there is nothing to poll.
            c.report.notes.push(format!(
                "Midjourney task id={id} left behind: it has no upstream task id"
            ));
            c.report.leave("midjourneys");
            continue;
        };
        let json = |col: &str, default: Value| {
            row.nonblank(col)
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .filter(|v| !v.is_null())
                .unwrap_or(default)
        };
        let at = || format!("Midjourney task id={id}");
        out.push(ImportedMjTask {
            source_id: id,
            user_source_id: row.int("user_id").unwrap_or(0),
            channel_source_id: row.int("channel_id").unwrap_or(0),
            task: NewMjTask {
                upstream_id: upstream_id.to_owned(),
                user_id: 0,
                key_id: 0,
                channel_id: 0,
                action: row.nonblank("action").unwrap_or("IMAGINE").to_owned(),
                mode: None,
                prompt: row.text("prompt").map(str::to_owned),
                state: row.text("state").map(str::to_owned),
                status,
                progress,
                properties: json("properties", Value::Object(Map::new())),
                buttons: json("buttons", Value::Array(Vec::new())),
                notify_hook: None,
                submit_time: row.int("submit_time"),
                cost: c.money(row.int("quota").unwrap_or(0), &at)?,
            },
        });
    }
    Ok(out)
}

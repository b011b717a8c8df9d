//! `tollgate import new-api --from <db> [--dry-run]`: moves a new-api or one-api installation into Tollgate so
//! its customers notice nothing — their `sk-` keys keep working (imported by hash), balances arrive to the
//! micro-unit, channels, prices, groups, unused redemption codes and unfinished Midjourney tasks come along.
//!
//! Three steps: read every table (`source.rs`), convert and check all of it in memory (`convert.rs`,
//! `prices.rs`, `money.rs`) — bad source data stops here, naming the row, before anything is written — then
//! write the plan in one transaction (`store::Store::apply_import`), which a dry run rolls back. Re-running
//! updates the rows an earlier run created (`import_ids`), so the last run can happen at switch-over time.

mod convert;
mod money;
mod prices;
mod report;
mod source;

use crate::config::NewApiImportArgs;
use convert::SourceData;
use indicatif::{ProgressBar, ProgressStyle};
use source::Source;
use std::collections::HashMap;

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>22} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// One table's rows, with a progress bar while they stream in.
async fn table(source: &Source, table: &convert::Table) -> anyhow::Result<Vec<source::SourceRow>> {
    let reading = bar(0, &format!("reading {}", table.name));
    let mut on_row = |size: Option<u64>| match size {
        Some(n) => reading.set_length(n),
        None => reading.inc(1),
    };
    let rows = source
        .rows(table.name, table.columns, table.required, &mut on_row)
        .await?;
    reading.finish();
    Ok(rows)
}

async fn read(source: &Source) -> anyhow::Result<SourceData> {
    let logs = !source.columns("logs").await?.is_empty();
    Ok(SourceData {
        options: table(source, &convert::OPTIONS).await?,
        users: table(source, &convert::USERS).await?,
        channels: table(source, &convert::CHANNELS).await?,
        abilities: table(source, &convert::ABILITIES).await?,
        tokens: table(source, &convert::TOKENS).await?,
        redemptions: table(source, &convert::REDEMPTIONS).await?,
        midjourneys: table(source, &convert::MIDJOURNEYS).await?,
        has_model_limits: source.columns("tokens").await?.contains_key("model_limits"),
        log_rows: if logs { source.count("logs").await? } else { 0 },
    })
}

/// Tells the instances sharing this database through Redis that the catalog changed, so they load the imported
/// channels, keys and prices without a restart (their money is in the database too). Best effort: an instance
/// that missed it loads them at its next start.
async fn announce(store: &store::Store, redis: &str) {
    let Ok(Some(namespace)) = store.get_setting("deployment_id").await else {
        return;
    };
    match cache::Shared::connect(Some(redis), &namespace).await {
        Ok(shared) => shared.announce_change("import").await,
        Err(e) => tracing::warn!(error = %e, "could not tell running instances about the import"),
    }
}

/// Runs the command; the report goes to stdout, progress to stderr.
pub async fn run(args: NewApiImportArgs) -> anyhow::Result<()> {
    let (settings, _) = crate::config::load::load(&args.settings)?;
    let source = Source::open(&args.from).await?;
    let data = read(&source).await?;
    let label = source.label.clone();
    source.close().await;
    let (plan, conversion) = convert::plan(&data)?;
    let store = crate::startup::open_store(&settings).await?;
    let mut bars: HashMap<&'static str, ProgressBar> = HashMap::new();
    let mut progress = |table: &'static str, done: u64, total: u64| {
        let b = bars
            .entry(table)
            .or_insert_with(|| bar(total, &format!("writing {table}")));
        b.set_position(done);
        if done == total {
            b.finish();
        }
    };
    let outcome = store
        .apply_import(&plan, !args.dry_run, &mut progress)
        .await;
    if let (Ok(o), Some(redis)) = (&outcome, settings.redis_url.as_deref())
        && o.committed
    {
        announce(&store, redis).await;
    }
    store.close().await;
    let outcome = outcome?;
    report::print(&label, plan.source.as_str(), &conversion, &outcome)?;
    Ok(())
}

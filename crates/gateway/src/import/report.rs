//! The summary printed at the end of an import (or of a dry run: what would change).

use super::convert::Report;
use std::io::Write;
use store::ImportOutcome;

pub fn print(
    source: &str,
    flavour: &str,
    conversion: &Report,
    outcome: &ImportOutcome,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let verb = if outcome.committed {
        "imported"
    } else {
        "dry run: would import"
    };
    writeln!(out, "{verb} from {flavour} database {source}")?;
    writeln!(
        out,
        "{:<10} {:>8} {:>8} {:>8}",
        "table", "created", "updated", "skipped"
    )?;
    for (table, n) in &outcome.tables {
        writeln!(
            out,
            "{table:<10} {:>8} {:>8} {:>8}",
            n.created, n.updated, n.skipped
        )?;
    }
    if !conversion.left_behind.is_empty() {
        let left: Vec<String> = conversion
            .left_behind
            .iter()
            .map(|(table, n)| format!("{n} {table}"))
            .collect();
        writeln!(
            out,
            "left behind on purpose (deleted, used or disabled codes, finished tasks, orphans): {}",
            left.join(", ")
        )?;
    }
    let notes: Vec<&String> = conversion.notes.iter().chain(&outcome.notes).collect();
    if !notes.is_empty() {
        writeln!(out, "notes ({}):", notes.len())?;
        for n in notes {
            writeln!(out, "  - {n}")?;
        }
    }
    if !outcome.committed {
        writeln!(out, "nothing was written (--dry-run)")?;
    }
    Ok(())
}

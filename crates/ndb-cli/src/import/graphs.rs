//! After an import: wait, with a progress bar, for the HNSW graphs of the segments it wrote.
//!
//! Segments written by background flushes during the import get their graphs from the
//! collection's background indexer. An import waits for them before it reports, so that its
//! time is the whole time and the next search is approximate, not exact.

use crate::error::CliResult;
use crate::Ctx;
use ndb::{Collection, Database};
use std::time::{Duration, Instant};

/// How often the index state is looked at while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The index build an import waited for.
#[derive(Default)]
pub struct Graphs {
    /// Time of the final flush (which builds the missing graphs) and of waiting for graphs.
    pub duration: Duration,
    /// Documents covered by an index at the end.
    pub indexed_docs: u64,
    /// Rows of new segments that should have a graph and have none, not waited for.
    pub left_docs: u64,
}

impl Graphs {
    /// A note for the summary line.
    pub fn note(&self) -> Option<String> {
        if self.left_docs > 0 {
            Some(format!(
                "{} not indexed: indexes are off for this collection (`ndb index --rebuild` \
                 turns them on); searches of them are exact",
                crate::fmt::plural(self.left_docs, "document")
            ))
        } else if self.duration > Duration::ZERO {
            Some(format!(
                "of which {} flushing and building the index",
                crate::fmt::duration(self.duration)
            ))
        } else {
            None
        }
    }
}

/// Rows of the segments not in `before` that should have a graph, and of those that have one.
fn progress(coll: &Collection, before: &[u64]) -> CliResult<(u64, u64)> {
    let min_rows = coll.config().index().min_rows as u64;
    let mut due = 0;
    let mut built = 0;
    for s in coll.stats()?.segments {
        if before.contains(&s.id) || s.rows < min_rows {
            continue;
        }
        due += s.rows;
        if s.indexed {
            built += s.rows;
        }
    }
    Ok((due, built))
}

/// Wait until every segment the import wrote that should have a graph has one, if
/// `expect_graphs` (indexes are on); otherwise report how many rows have none.
pub fn wait(
    ctx: &Ctx,
    coll: &Collection,
    expect_graphs: bool,
    before: &[u64],
) -> CliResult<Graphs> {
    let started = Instant::now();
    let (due, built) = progress(coll, before)?;
    if built < due && !expect_graphs {
        return Ok(Graphs {
            left_docs: due - built,
            indexed_docs: coll.stats()?.indexed_docs,
            ..Graphs::default()
        });
    }
    if built < due {
        let bar = super::progress_bar(ctx, "indexing", Some(due), 0);
        bar.set_position(built);
        let result = (|| -> CliResult<()> {
            loop {
                std::thread::sleep(POLL_INTERVAL);
                let (due, built) = progress(coll, before)?;
                bar.set_length(due);
                bar.set_position(built);
                if built >= due {
                    return Ok(());
                }
            }
        })();
        bar.finish_and_clear();
        result?;
    }
    Ok(Graphs {
        duration: if due > 0 {
            started.elapsed()
        } else {
            Duration::ZERO
        },
        indexed_docs: coll.stats()?.indexed_docs,
        left_docs: 0,
    })
}

/// Close the database (a background job in progress, such as a merge, finishes first) under
/// a spinner, so that the time reported includes it.
pub fn close(ctx: &Ctx, db: Database) {
    let spin = crate::commands::spinner(ctx, "finishing background work");
    drop(db);
    if let Some(s) = spin {
        s.finish_and_clear();
    }
}

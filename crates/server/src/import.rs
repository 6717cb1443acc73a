//! Bulk import into a tenant: a parsed bulk file applied in chunks, each chunk validated and applied under the tenant's write lock and committed durably, with progress reported after each chunk.
//!
//! Chunks keep other requests flowing during a long import and bound the size of a store batch; like ADT import jobs, an import is not atomic (a failure leaves earlier chunks applied), and re-running it changes only what differs.
//! Imports emit no per-record events: a bulk load is not a stream of changes that routes should fan out.

use graph::bulk::{Bulk, LineError, Report};
pub use graph::bulk::{Format, detect, parse};
use store::records::ops_for;

use crate::data::{DataPlane, TenantState};

/// Records per chunk: one write-lock hold and one store batch.
const CHUNK_RECORDS: usize = 2_000;

/// Counts of an import in progress or done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub models_created: usize,
    pub models_unchanged: usize,
    pub twins_written: usize,
    pub relationships_written: usize,
    /// Records handled so far (written, unchanged or refused), out of `records_total`.
    pub records_done: usize,
    pub records_total: usize,
    pub errors: Vec<LineError>,
}

/// Why an import stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the import was cancelled")]
    Cancelled,
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
}

impl DataPlane {
    /// Applies `bulk` to a tenant in chunks; blocks until every chunk is durable. `progress` is called after each chunk and may stop the import by returning false.
    pub fn import(
        &self,
        tenant: &TenantState,
        bulk: Bulk,
        mut progress: impl FnMut(&Progress) -> bool,
    ) -> Result<Progress, ImportError> {
        let mut state = Progress {
            records_total: bulk.models.len() + bulk.twins.len() + bulk.relationships.len(),
            errors: bulk.errors,
            ..Progress::default()
        };
        // Models go in one chunk: they are validated as one set.
        let mut chunks: Vec<Bulk> = vec![Bulk { models: bulk.models, ..Bulk::default() }];
        let mut twins = bulk.twins.into_iter().peekable();
        while twins.peek().is_some() {
            chunks.push(Bulk { twins: twins.by_ref().take(CHUNK_RECORDS).collect(), ..Bulk::default() });
        }
        let mut relationships = bulk.relationships.into_iter().peekable();
        while relationships.peek().is_some() {
            chunks
                .push(Bulk { relationships: relationships.by_ref().take(CHUNK_RECORDS).collect(), ..Bulk::default() });
        }
        for chunk in chunks {
            let records = chunk.models.len() + chunk.twins.len() + chunk.relationships.len();
            if records == 0 {
                continue;
            }
            let now = crate::data::now();
            let report: Report = tenant.apply_blocking(self, |graph| {
                let report = graph.import(chunk, &now);
                let ops = ops_for(&tenant.id, &report.changes);
                (report, ops)
            })?;
            state.models_created += report.models_created;
            state.models_unchanged += report.models_unchanged;
            state.twins_written += report.twins_written;
            state.relationships_written += report.relationships_written;
            state.records_done += records;
            state.errors.extend(report.errors);
            if !progress(&state) {
                return Err(ImportError::Cancelled);
            }
        }
        state.errors.sort_by_key(|e| e.line);
        Ok(state)
    }
}

//! Group commit: many writers, one transaction, one sync to disk.
//!
//! Every commit waits for the disk, so committing each gate event on its own caps throughput at the
//! disk's sync rate. Writers instead queue their work for one committer task, in order. It takes
//! everything waiting, runs it in one transaction and commits once, then answers each writer: nothing is
//! acknowledged before it is on disk. Jobs are checked in memory before they are queued, so they rarely
//! fail; when one does, the batch is rolled back and its jobs rerun one transaction each, so only the
//! failing job fails. Jobs queued one after another commit in that order.

use std::sync::Arc;

use sqlx::AnyPool;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::WriteCtx;
use crate::error::{Error, Result};
use crate::{Change, GateWrite, HistoryEntry, LedgerEntry, OverrideWrite, SpotRecord};

/// One [`Change`] per facility, naming every spot, session and reservation the jobs change.
fn announcements(origin: &str, jobs: &[&Job]) -> Vec<Change> {
    type Set<'a> = std::collections::BTreeSet<&'a str>;
    /// Spots, sessions and reservations changed, of one facility.
    #[derive(Default)]
    struct Changed<'a>(Set<'a>, Set<'a>, Set<'a>);
    let mut by_facility: std::collections::BTreeMap<&str, Changed> = Default::default();
    for job in jobs {
        let (facility, spots, sessions): (&str, &[SpotRecord], Vec<&str>) = match job {
            Job::Spots { facility, spots, .. } => (facility, spots, vec![]),
            Job::Gate(w) => {
                let mut sessions: Vec<&str> = w.session.iter().map(|s| s.id.as_str()).collect();
                sessions.extend(w.ledger.iter().filter_map(|e| e.session.as_deref()));
                let entry = by_facility.entry(&w.event.facility).or_default();
                entry.2.extend(w.reservation.iter().map(|r| r.id.as_str()));
                (&w.event.facility, &w.spots, sessions)
            }
            Job::Override(w) => (&w.facility, &w.spots, w.session.iter().map(|s| s.id.as_str()).collect()),
            Job::Ledger(entries) => {
                for e in entries {
                    if let (Some(f), Some(s)) = (e.facility.as_deref(), e.session.as_deref()) {
                        by_facility.entry(f).or_default().1.insert(s);
                    }
                }
                continue;
            }
        };
        let entry = by_facility.entry(facility).or_default();
        entry.0.extend(spots.iter().map(|s| s.spot.as_str()));
        entry.1.extend(sessions);
    }
    let list = |set: Set| set.into_iter().map(str::to_owned).collect::<Vec<String>>();
    by_facility
        .into_iter()
        .map(|(facility, Changed(spots, sessions, reservations))| Change {
            origin: origin.to_owned(),
            facility: facility.to_owned(),
            spots: list(spots),
            sessions: list(sessions),
            reservations: list(reservations),
            ..Default::default()
        })
        .collect()
}

/// Most jobs in one transaction; keeps any one commit short. A sensor batch spread over a large city
/// is a job per facility (about 490 for 500 readings), so several such batches fit in one commit.
const MAX_BATCH: usize = 4096;

/// A write the committer can batch.
#[derive(Debug)]
pub(crate) enum Job {
    Spots { facility: String, spots: Vec<SpotRecord>, history: Vec<HistoryEntry> },
    Gate(Box<GateWrite>),
    Override(Box<OverrideWrite>),
    Ledger(Vec<LedgerEntry>),
}

#[derive(Debug)]
struct Pending {
    job: Job,
    done: oneshot::Sender<Result<()>>,
}

#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Pending>,
}

impl GroupCommit {
    /// Starts the committer. `write_lock` (SQLite) is the store's writer lock, taken for each batch so
    /// that other writes never contend with it inside the database; `begin` opens a write transaction.
    /// `announce` (PostgreSQL): this instance's id; each commit then appends to the change feed what
    /// it changed.
    pub fn start(
        pool: AnyPool,
        write_lock: Option<Arc<Mutex<()>>>,
        begin: &'static str,
        announce: Option<String>,
        ctx: Arc<WriteCtx>,
    ) -> GroupCommit {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, write_lock, begin, announce, ctx, rx));
        GroupCommit { queue }
    }

    /// Queues a job now; the returned future resolves once it is committed (or refused).
    pub fn queue(&self, job: Job) -> impl Future<Output = Result<()>> + Send + 'static {
        let (done, result) = oneshot::channel();
        let queued = self.queue.send(Pending { job, done });
        async move {
            queued.map_err(|_| Error::Stopped)?;
            result.await.map_err(|_| Error::Stopped)?
        }
    }
}

async fn run(
    pool: AnyPool,
    write_lock: Option<Arc<Mutex<()>>>,
    begin: &'static str,
    announce: Option<String>,
    ctx: Arc<WriteCtx>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let _guard = match &write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        metrics::histogram!("parkline_group_commit_jobs").record(batch.len() as f64);
        let jobs: Vec<&Job> = batch.iter().map(|p| &p.job).collect();
        if let Err(e) = commit(&pool, begin, announce.as_deref(), &ctx, &jobs).await {
            if batch.len() == 1 {
                let _ = batch.pop().map(|p| p.done.send(Err(e)));
                continue;
            }
            tracing::warn!(error = %e, jobs = batch.len(), "a batch failed; committing its jobs one by one");
            for pending in batch {
                let result = commit(&pool, begin, announce.as_deref(), &ctx, &[&pending.job]).await;
                let _ = pending.done.send(result);
            }
            continue;
        }
        for pending in batch {
            let _ = pending.done.send(Ok(()));
        }
    }
}

/// Runs jobs in one transaction, in order. Consecutive gate events are written together, a few
/// statements for all of them.
async fn commit(
    pool: &AnyPool,
    begin: &'static str,
    announce: Option<&str>,
    ctx: &WriteCtx,
    jobs: &[&Job],
) -> Result<()> {
    let mut tx = pool.begin_with(begin).await?;
    // Consecutive gate events are written together, and so are consecutive spot changes (of any
    // facilities): a few statements for all of them. Each run is written before a different job.
    let mut gates: Vec<&GateWrite> = Vec::new();
    let mut spots: Vec<(&str, &SpotRecord)> = Vec::new();
    let mut history: Vec<(&str, &HistoryEntry)> = Vec::new();
    for job in jobs {
        if !matches!(job, Job::Spots { .. }) && !spots.is_empty() {
            super::spots::write_spots(&mut tx, &std::mem::take(&mut spots)).await?;
            super::spots::write_history(&mut tx, &std::mem::take(&mut history)).await?;
        }
        if !matches!(job, Job::Gate(_)) {
            super::sessions::write_gate_events(&mut tx, ctx, &std::mem::take(&mut gates)).await?;
        }
        match job {
            Job::Gate(write) => gates.push(write),
            Job::Override(write) => super::sessions::write_override(&mut tx, ctx, write).await?,
            Job::Spots { facility, spots: changed, history: entries } => {
                spots.extend(changed.iter().map(|s| (facility.as_str(), s)));
                history.extend(entries.iter().map(|h| (facility.as_str(), h)));
            }
            Job::Ledger(entries) => {
                super::ledger::write_ledger(&mut tx, ctx.pg, &entries.iter().collect::<Vec<_>>()).await?;
            }
        }
    }
    super::spots::write_spots(&mut tx, &spots).await?;
    super::spots::write_history(&mut tx, &history).await?;
    super::sessions::write_gate_events(&mut tx, ctx, &gates).await?;
    if let Some(origin) = announce {
        crate::feed::append(&mut tx, &announcements(origin, jobs)).await?;
    }
    tx.commit().await?;
    Ok(())
}

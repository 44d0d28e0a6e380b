//! The audit chain: every money movement and every gate override is recorded as canonical JSON, and
//! each record's hash covers the hash before it. Changing, removing or reordering any row, or a ledger
//! row behind its record's back, is found by [`verify`] (`parkline-server verify-audit`).

use std::collections::HashMap;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::{Ledger, LedgerEntry};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A record about to be appended.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub kind: String,
    pub ref_id: String,
    pub body: String,
    pub at: Timestamp,
}

impl Record {
    pub fn ledger(entry: &LedgerEntry) -> Record {
        Record { kind: "ledger".into(), ref_id: entry.key.clone(), body: ledger_body(entry), at: entry.at }
    }
}

/// The canonical record of a ledger entry: as the database keeps it (times to the millisecond).
pub fn ledger_body(entry: &LedgerEntry) -> String {
    let at = Timestamp::from_millisecond(entry.at.as_millisecond()).unwrap_or(entry.at);
    serde_json::to_string(&LedgerEntry { at, ..entry.clone() }).expect("a ledger entry serialises")
}

/// The hash of one link: its position, the previous hash and its content.
pub fn link_hash(seq: i64, prev: &str, kind: &str, ref_id: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [seq.to_string().as_str(), prev, kind, ref_id, body] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub records: u64,
    pub ledger_entries: u64,
    /// Every problem, by position; empty when the chain and the ledger agree.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: u32 = 5_000;

/// Walks the whole chain and the whole ledger.
pub async fn verify(store: &dyn Ledger) -> Result<Report> {
    let mut report = Report { records: 0, ledger_entries: 0, problems: Vec::new() };
    // The body hash of each ledger record, to compare with the ledger itself.
    let mut recorded: HashMap<String, [u8; 32]> = HashMap::new();
    let (mut expected_seq, mut prev) = (1i64, GENESIS.to_owned());
    let mut after = 0;
    loop {
        let page = store.audit_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            report.records += 1;
            if row.seq != expected_seq {
                report.problems.push(format!("record {}: expected record {expected_seq} (a gap)", row.seq));
            }
            if row.prev_hash != prev {
                report.problems.push(format!("record {}: does not follow the record before it", row.seq));
            }
            if link_hash(row.seq, &row.prev_hash, &row.kind, &row.ref_id, &row.body) != row.hash {
                report.problems.push(format!("record {}: content does not match its hash", row.seq));
            }
            if row.kind == "ledger" {
                recorded.insert(row.ref_id.clone(), Sha256::digest(row.body.as_bytes()).into());
            }
            expected_seq = row.seq + 1;
            prev = row.hash.clone();
        }
    }
    let mut after = 0;
    loop {
        let page = store.ledger_page(after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (id, entry) in &page {
            report.ledger_entries += 1;
            let digest: [u8; 32] = Sha256::digest(ledger_body(entry).as_bytes()).into();
            match recorded.remove(&entry.key) {
                None => report.problems.push(format!("ledger row {id} ({}) has no audit record", entry.key)),
                Some(d) if d != digest => report
                    .problems
                    .push(format!("ledger row {id} ({}) differs from its audit record", entry.key)),
                Some(_) => {}
            }
        }
    }
    for key in recorded.keys() {
        report.problems.push(format!("audit record of ledger entry {key} has no ledger row"));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_hash_covers_position_predecessor_and_content() {
        let h = link_hash(1, GENESIS, "ledger", "k", "{}");
        assert_eq!(h.len(), 64);
        assert_ne!(h, link_hash(2, GENESIS, "ledger", "k", "{}"));
        assert_ne!(h, link_hash(1, &h, "ledger", "k", "{}"));
        assert_ne!(h, link_hash(1, GENESIS, "override", "k", "{}"));
        assert_ne!(h, link_hash(1, GENESIS, "ledger", "k", "{ }"));
        // Field boundaries are unambiguous.
        assert_ne!(link_hash(1, GENESIS, "ledger", "ab", "c"), link_hash(1, GENESIS, "ledger", "a", "bc"));
    }
}

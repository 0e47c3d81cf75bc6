//! The credential lifecycle: the one place that writes the `credentials` and
//! `connect_sessions` tables. Each transition is a named operation that owns
//! its column resets, its timeline event and its webhook, and runs in the
//! caller's transaction where other writes belong with it. Handlers and jobs
//! decide *when*; this module decides *what changes*. A test below keeps it
//! that way: no other source file writes those tables.

pub mod connection;
pub mod events;
pub mod expiry;
pub mod logins;
pub mod mfa_slots;
pub mod notice_stops;
pub mod records;
pub mod sessions;
pub mod staleness;
pub mod syncs;

/// A pause that doubles with each failure in a row, from `first_ms` after
/// the first up to `max_ms`: the retries of logins, syncs and deliveries.
pub fn backoff_ms(first_ms: i64, failures_in_a_row: i64, max_ms: i64) -> i64 {
    let doublings = (failures_in_a_row - 1).clamp(0, 20) as u32;
    first_ms.saturating_mul(1_i64 << doublings).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_from_the_first_pause_up_to_the_ceiling() {
        let pauses: Vec<i64> = (0..=9)
            .map(|failures| backoff_ms(60_000, failures, 3_600_000))
            .collect();
        assert_eq!(
            pauses,
            [
                60_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000,
                3_600_000, 3_600_000
            ]
        );
        assert_eq!(backoff_ms(30_000, 1_000, 480_000), 480_000);
    }

    /// Every `.rs` file under `server/src`, with its path.
    fn sources(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path.display().to_string(), text));
            }
        }
    }

    #[test]
    fn only_the_lifecycle_module_writes_credentials_and_connect_sessions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        assert!(files.len() > 50, "the scan found too few files");
        let lifecycle = root.join("domain").join("lifecycle").display().to_string();
        let mut writers = Vec::new();
        for (path, text) in &files {
            if path.starts_with(&lifecycle) {
                continue;
            }
            let compact = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for table in ["credentials", "connect_sessions"] {
                for verb in ["UPDATE", "INSERT INTO", "DELETE FROM"] {
                    let statement = format!("{verb} {table} ");
                    if compact.contains(&statement) || compact.contains(&format!("{verb} {table}("))
                    {
                        writers.push(format!("{path}: {verb} {table}"));
                    }
                }
            }
        }
        assert!(
            writers.is_empty(),
            "outside src/domain/lifecycle: {writers:#?}"
        );
    }
}

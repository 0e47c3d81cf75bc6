//! SQLite's one writer runs on a thread of its own (sqlx gives every SQLite
//! connection one), and every write in the process waits for it. Under load
//! that thread is woken for each statement and then waits for a core behind
//! request handling, readers and whatever else the machine runs: measured,
//! most of a writer holding's time was that wait, not SQLite's work
//! (docs/benchmarks.md, MFA flows). The writer's thread therefore asks the
//! kernel for a higher scheduling priority, so it runs as soon as it is
//! woken; it needs little CPU, so nothing else starves.
//!
//! Raising a priority needs `CAP_SYS_NICE` or a `RLIMIT_NICE` of at least
//! `20 - WRITER_NICE`; without either the writer keeps the normal priority
//! and says so once in the log.

use std::collections::BTreeSet;
use std::future::Future;

/// The nice value the writer's thread asks for (0 is normal, lower runs first).
pub const WRITER_NICE: i32 = -5;

/// What became of the writer thread's priority ([`super::Database::writer_priority`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterPriority {
    /// The thread with this id runs at [`WRITER_NICE`].
    Raised { thread: i32 },
    /// The thread with this id runs at normal priority: this process may not raise it.
    NotPermitted { thread: i32 },
    /// The thread was not told apart: not Linux, or another SQLite connection
    /// of this process opened at the same moment.
    Unknown,
}

/// Serialises opening writers, so one opening's new thread is not taken for another's.
static OPENING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Opens the writer's connection with `open` and raises the priority of the
/// thread it runs on.
pub async fn open_writer<T, E>(
    open: impl Future<Output = Result<T, E>>,
) -> Result<(T, WriterPriority), E> {
    let _opening = OPENING.lock().await;
    let before = sqlite_threads();
    let connection = open.await?;
    let new: Vec<i32> = sqlite_threads().difference(&before).copied().collect();
    let priority = match new.as_slice() {
        [thread] => raise(*thread),
        _ => WriterPriority::Unknown,
    };
    match priority {
        WriterPriority::Raised { thread } => {
            tracing::debug!(
                thread,
                nice = WRITER_NICE,
                "SQLite's writer thread runs first"
            );
        }
        WriterPriority::NotPermitted { .. } => tracing::info!(
            "SQLite's writer runs at normal priority: this process may not raise a thread's \
             priority (give it CAP_SYS_NICE, or a RLIMIT_NICE of {}, for faster writes under load)",
            20 - WRITER_NICE
        ),
        WriterPriority::Unknown => {
            tracing::debug!("SQLite's writer thread not told apart; it runs at normal priority");
        }
    }
    Ok((connection, priority))
}

/// The ids of this process's threads that run SQLite connections (sqlx names
/// them `sqlx-sqlite-worker-N`; the kernel keeps 15 characters of a name).
#[cfg(target_os = "linux")]
fn sqlite_threads() -> BTreeSet<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("sqlx-sqlite-wor"))
        })
        .filter_map(|task| task.file_name().to_str()?.parse().ok())
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn sqlite_threads() -> BTreeSet<i32> {
    BTreeSet::new()
}

#[cfg(target_os = "linux")]
fn raise(thread: i32) -> WriterPriority {
    use rustix::io::Errno;
    use rustix::process::{setpriority_process, Pid};

    // None would be this process's own first thread.
    let Some(thread_id) = Pid::from_raw(thread) else {
        return WriterPriority::Unknown;
    };
    // On Linux a thread's id names that one thread here.
    match setpriority_process(Some(thread_id), WRITER_NICE) {
        Ok(()) => WriterPriority::Raised { thread },
        Err(Errno::ACCESS | Errno::PERM) => WriterPriority::NotPermitted { thread },
        Err(error) => {
            tracing::debug!(%error, "cannot set the SQLite writer thread's priority");
            WriterPriority::Unknown
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn raise(_thread: i32) -> WriterPriority {
    WriterPriority::Unknown
}

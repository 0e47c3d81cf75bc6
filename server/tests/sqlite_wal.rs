//! SQLite writers do not copy the write-ahead log back into the database as
//! they commit (`wal_autocheckpoint = 0`): the checkpointer beside them does,
//! every second, so the database file fills while the log stays bounded.

mod common;

use std::time::{Duration, Instant};

use server::infra::config::DatabaseUrl;
use server::infra::store::Database;

#[tokio::test]
async fn committed_pages_reach_the_database_file_without_any_writer_checkpointing() {
    let dir = common::TempDir::new("wal");
    let path = dir.path().join("wal.db");
    let db = Database::connect(&DatabaseUrl::Sqlite { path: path.clone() })
        .await
        .unwrap();
    sqlx::query("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    // About 8 MiB over 200 commits: far past the 1,000 pages at which a
    // writer would checkpoint by itself.
    for batch in 0..200 {
        sqlx::query(
            "INSERT INTO filler (body) SELECT printf('%.40960c', 'x') FROM (SELECT 1) WHERE $1 >= 0",
        )
        .bind(batch)
        .execute(db.pool())
        .await
        .unwrap();
    }
    let (autocheckpoint,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(autocheckpoint, 0, "writers must not checkpoint");
    let started = Instant::now();
    loop {
        let size = std::fs::metadata(&path).unwrap().len();
        if size > before + 8_000_000 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the database file holds {size} bytes 10 s after 8 MiB were committed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn case_40_the_sqlite_files_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::TempDir::new("modes");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    // A new database, and one left readable by everyone by an older version.
    let fresh = dir.path().join("fresh.db");
    let older = dir.path().join("older.db");
    std::fs::write(&older, b"").unwrap();
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o644)).unwrap();
    for path in [&fresh, &older] {
        let db = Database::connect(&DatabaseUrl::Sqlite { path: path.clone() })
            .await
            .unwrap();
        db.migrate().await.unwrap();
        sqlx::query("UPDATE health_probe SET checked_at = 1 WHERE id = 1")
            .execute(&mut *db.writer().await.unwrap())
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            assert!(file.exists(), "{}", file.display());
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        db.close().await;
    }
}

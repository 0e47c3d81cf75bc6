//! The per-detail credential counts the database keeps (`credential_counts`)
//! stay exactly what counting the rows gives, whatever writes them: inserts
//! of one and of many rows, status changes, deactivation, reactivation,
//! deletion, many writers at once, and PostgreSQL's fold running among them.
//! The listing's totals and its merged multi-detail pages match plain SQL.

mod common;

use std::collections::BTreeMap;

use common::Backend;
use server::domain::credentials::counts;
use server::domain::credentials::store::{self, ListQuery};
use server::infra::config::DatabaseUrl;
use server::infra::store::Database;
use shared::StatusDetail;

const DETAILS: [StatusDetail; 4] = [
    StatusDetail::LoginAndDataDiscoverySuccessful,
    StatusDetail::MultiFactorAuthenticationRefreshRequired,
    StatusDetail::InvalidCredentials,
    StatusDetail::Connecting,
];

async fn open(backend: Backend, dir: &common::TempDir) -> Database {
    let url = match backend {
        Backend::Sqlite => DatabaseUrl::Sqlite {
            path: dir.path().join("counts.db"),
        },
        Backend::Postgres => DatabaseUrl::parse(&common::fresh_postgres_database().await).unwrap(),
    };
    let db = Database::connect(&url).await.expect("open the database");
    db.migrate().await.expect("migrate");
    for organisation in ["org_a", "org_b"] {
        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $1, 0)")
            .bind(organisation)
            .execute(db.pool())
            .await
            .unwrap();
    }
    db
}

async fn insert(db: &Database, organisation: &str, ids: std::ops::Range<usize>) {
    let rows: Vec<String> = ids
        .clone()
        .map(|n| {
            format!(
                "('cred_{organisation}_{n}', '{organisation}', 'sandbox-electric', 'user_{n}', 'END_USER', '{}', 'sealed', {n}, {n})",
                DETAILS[n % DETAILS.len()].as_str()
            )
        })
        .collect();
    sqlx::query(&format!(
        "INSERT INTO credentials (id, organisation_id, utility_id, username, owner, status_detail, \
           sealed_password, created_at, updated_at) VALUES {}",
        rows.join(", ")
    ))
    .execute(db.pool())
    .await
    .unwrap();
}

/// Active credentials per detail, counted row by row.
async fn counted(db: &Database, organisation: &str) -> BTreeMap<String, u64> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status_detail, COUNT(*) FROM credentials WHERE organisation_id = $1 \
         AND deactivated_at IS NULL GROUP BY status_detail",
    )
    .bind(organisation)
    .fetch_all(db.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(d, n)| (d, n as u64)).collect()
}

async fn kept(db: &Database, organisation: &str) -> BTreeMap<String, u64> {
    counts::by_detail(db, organisation)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(d, n)| (d.as_str().to_owned(), n))
        .collect()
}

async fn assert_counts_match(db: &Database, when: &str) {
    for organisation in ["org_a", "org_b"] {
        assert_eq!(
            kept(db, organisation).await,
            counted(db, organisation).await,
            "{organisation} {when}"
        );
    }
}

async fn counts_follow_every_kind_of_write(backend: Backend) {
    let dir = common::TempDir::new("counts");
    let db = open(backend, &dir).await;
    insert(&db, "org_a", 0..400).await;
    insert(&db, "org_b", 0..7).await;
    for n in 400..410 {
        insert(&db, "org_a", n..n + 1).await;
    }
    assert_counts_match(&db, "after inserts").await;

    // Many writers at once, each moving rows between details (one statement
    // moving many rows, and row by row), deactivating and reactivating,
    // while PostgreSQL folds the appended changes.
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8usize {
        let db = db.clone();
        writers.spawn(async move {
            for round in 0..15usize {
                let from = DETAILS[(writer + round) % DETAILS.len()].as_str();
                let to = DETAILS[(writer + round + 1) % DETAILS.len()].as_str();
                // As the sweep does: several rows, skipping those another writer holds.
                sqlx::query(&format!(
                    "UPDATE credentials SET status_detail = $1 WHERE id IN \
                     (SELECT id FROM credentials WHERE organisation_id = 'org_a' AND status_detail = $2 \
                      ORDER BY id LIMIT 7 {})",
                    db.skip_locked()
                ))
                .bind(to)
                .bind(from)
                .execute(db.pool())
                .await
                .unwrap();
                let id = format!("cred_org_a_{}", (writer * 37 + round * 11) % 410);
                let deactivated_at = (round % 3 == 0).then_some(1_i64);
                sqlx::query("UPDATE credentials SET deactivated_at = $1, updated_at = $2 WHERE id = $3")
                    .bind(deactivated_at)
                    .bind(round as i64)
                    .bind(&id)
                    .execute(db.pool())
                    .await
                    .unwrap();
                // An update that changes nothing counted.
                sqlx::query("UPDATE credentials SET last_synced_at = $1 WHERE id = $2")
                    .bind(round as i64)
                    .bind(&id)
                    .execute(db.pool())
                    .await
                    .unwrap();
                if round % 5 == 0 {
                    counts::fold(&db).await.unwrap();
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    assert_counts_match(&db, "after concurrent moves").await;

    // A transaction that is rolled back leaves the counts as they were.
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query(
        "UPDATE credentials SET status_detail = 'CONNECTING' WHERE organisation_id = 'org_b'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    sqlx::query("DELETE FROM credentials WHERE id IN ('cred_org_b_1', 'cred_org_b_2')")
        .execute(db.pool())
        .await
        .unwrap();
    assert_counts_match(&db, "after a rollback and a delete").await;

    counts::fold(&db).await.unwrap();
    assert_counts_match(&db, "after the fold").await;
    if backend == Backend::Postgres {
        let (rows,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM credential_counts WHERE organisation_id = 'org_a'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(
            rows <= DETAILS.len() as i64,
            "folded to one row per detail, found {rows}"
        );
    }
    db.close().await;
}

async fn listing_totals_and_merged_pages_match_plain_sql(backend: Backend) {
    let dir = common::TempDir::new("counts-listing");
    let db = open(backend, &dir).await;
    insert(&db, "org_a", 0..300).await;
    sqlx::query("UPDATE credentials SET deactivated_at = 5 WHERE id LIKE 'cred_org_a_1%'")
        .execute(db.pool())
        .await
        .unwrap();
    let two_details = vec![DETAILS[1], DETAILS[3]];
    for descending in [true, false] {
        for page in [1, 2, 7] {
            let query = ListQuery {
                status_details: Some(two_details.clone()),
                sort: ("created_at", descending),
                page,
                page_size: 10,
                ..ListQuery::default()
            };
            let (items, total) = store::list(&db, "org_a", &query).await.unwrap();
            let direction = if descending { "DESC" } else { "ASC" };
            let expected: Vec<(String,)> = sqlx::query_as(&format!(
                "SELECT id FROM credentials WHERE organisation_id = 'org_a' AND deactivated_at IS NULL \
                 AND status_detail IN ($1, $2) ORDER BY created_at {direction}, id {direction} LIMIT 10 OFFSET $3"
            ))
            .bind(two_details[0].as_str())
            .bind(two_details[1].as_str())
            .bind(i64::from(page - 1) * 10)
            .fetch_all(db.pool())
            .await
            .unwrap();
            let ids: Vec<String> = items.into_iter().map(|item| item.id).collect();
            let expected: Vec<String> = expected.into_iter().map(|(id,)| id).collect();
            assert_eq!(ids, expected, "page {page}, descending {descending}");
            let (count,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM credentials WHERE organisation_id = 'org_a' AND deactivated_at IS NULL \
                 AND status_detail IN ($1, $2)",
            )
            .bind(two_details[0].as_str())
            .bind(two_details[1].as_str())
            .fetch_one(db.pool())
            .await
            .unwrap();
            assert_eq!(total, count as u64);
        }
    }
    // A search goes through the trigram index on SQLite and gives what LIKE gives.
    for search in ["ser_2", "USER_29", "_1", "r_2%", "nobody"] {
        let query = ListQuery {
            username_contains: Some(search.to_owned()),
            sort: ("created_at", true),
            page: 1,
            page_size: 100,
            ..ListQuery::default()
        };
        let (items, total) = store::list(&db, "org_a", &query).await.unwrap();
        let needle = search.to_lowercase();
        let expected: Vec<(String,)> = sqlx::query_as(
            "SELECT username FROM credentials WHERE organisation_id = 'org_a' AND deactivated_at IS NULL \
             ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        let expected: Vec<String> = expected
            .into_iter()
            .map(|(username,)| username)
            .filter(|username| username.to_lowercase().contains(&needle))
            .collect();
        let usernames: Vec<String> = items.into_iter().map(|item| item.username).collect();
        assert_eq!(
            usernames,
            expected[..expected.len().min(100)],
            "search {search:?}"
        );
        assert_eq!(total, expected.len() as u64, "search {search:?}");
    }
    db.close().await;
}

database_tests!(
    counts_follow_every_kind_of_write,
    listing_totals_and_merged_pages_match_plain_sql,
);

//! Folding the credential counts PostgreSQL appends (see
//! [`crate::domain::credentials::counts::fold`]) so reading a count stays a few rows.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::credentials::counts;
use crate::infra::store::Database;

pub async fn run(db: Database, every: Duration, shutdown: CancellationToken) -> anyhow::Result<()> {
    super::every(
        super::Cadence::new("count_fold", every),
        &shutdown,
        || async {
            if let Err(error) = counts::fold(&db).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "folding the credential counts failed"
                );
            }
        },
    )
    .await;
    Ok(())
}

//! Learned token lifetimes. Many utilities never say when a session token
//! will stop working. Gridlink records each token's observed life — issued,
//! then refused by the utility, or past the expiry it was given — and shows
//! per utility the median and 90th percentile. When a utility states no
//! expiry, the median of its recent tokens predicts one: the expiry warning,
//! the forecast and the end-user notices use it (the expiry sweep does not:
//! only the utility's refusal ends a token without a stated expiry).

use shared::credentials::UtilityLifetime;
use sqlx::AnyConnection;

use crate::domain::ctx::Ctx;

/// Observed lives a prediction or a statistic looks at, newest first.
const HISTORY: i64 = 500;
/// Statistics look back this far.
const WINDOW_MS: i64 = 180 * 24 * 60 * 60 * 1000;

/// A utility refused the credential's token now: its life ends here.
pub async fn record_rejected(
    connection: &mut AnyConnection,
    credential_id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO token_lifetimes (utility_id, issued_at, ended_at, ended_by) \
         SELECT utility_id, token_issued_at, $1, 'REJECTED' FROM credentials \
          WHERE id = $2 AND token_issued_at IS NOT NULL AND token_issued_at < $1",
    )
    .bind(now_ms)
    .bind(credential_id)
    .execute(connection)
    .await?;
    Ok(())
}

/// The expiry sweep moved these credentials (a JSON array of ids): their
/// tokens lived until their stated expiry.
pub async fn record_expired(
    connection: &mut AnyConnection,
    ids_json: &str,
) -> Result<(), sqlx::Error> {
    let ids = crate::infra::store::sql::json_rows(connection, "$1");
    sqlx::query(&format!(
        "INSERT INTO token_lifetimes (utility_id, issued_at, ended_at, ended_by) \
         SELECT utility_id, token_issued_at, token_expires_at, 'EXPIRED' FROM credentials \
          WHERE id IN (SELECT value ->> 0 FROM {ids}) AND token_issued_at IS NOT NULL \
            AND token_expires_at > token_issued_at"
    ))
    .bind(ids_json)
    .execute(connection)
    .await?;
    Ok(())
}

/// The utility's recent observed lives, in milliseconds, shortest first.
async fn recent_lives(
    connection: &mut AnyConnection,
    utility_id: &str,
    since_ms: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT ended_at - issued_at FROM token_lifetimes WHERE utility_id = $1 AND ended_at >= $2 \
         ORDER BY ended_at DESC LIMIT {HISTORY}"
    ))
    .bind(utility_id)
    .bind(since_ms)
    .fetch_all(connection)
    .await?;
    let mut lives: Vec<i64> = rows.into_iter().map(|(life,)| life).collect();
    lives.sort_unstable();
    Ok(lives)
}

/// The value below which `share` of the sorted `lives` fall (nearest rank).
fn percentile(lives: &[i64], share: f64) -> Option<i64> {
    if lives.is_empty() {
        return None;
    }
    let rank = ((share * lives.len() as f64).ceil() as usize).clamp(1, lives.len());
    Some(lives[rank - 1])
}

/// How long a new token of `utility_id` is expected to live (the median of
/// its recent observed lives), and from how many; `None` without history.
pub async fn predicted_life(
    connection: &mut AnyConnection,
    utility_id: &str,
    now_ms: i64,
) -> Result<Option<(i64, usize)>, sqlx::Error> {
    let lives = recent_lives(connection, utility_id, now_ms - WINDOW_MS).await?;
    Ok(percentile(&lives, 0.5).map(|median| (median, lives.len())))
}

/// Per utility: tokens observed in the last 180 days, median and 90th percentile.
pub async fn statistics(ctx: &Ctx) -> Result<Vec<UtilityLifetime>, sqlx::Error> {
    let now = ctx.clock.now_ms();
    let mut connection = ctx.db.pool().acquire().await?;
    let utilities: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT utility_id FROM token_lifetimes WHERE ended_at >= $1 ORDER BY utility_id",
    )
    .bind(now - WINDOW_MS)
    .fetch_all(&mut *connection)
    .await?;
    let day = 24.0 * 60.0 * 60.0 * 1000.0;
    let mut answer = Vec::with_capacity(utilities.len());
    for (utility_id,) in utilities {
        let lives = recent_lives(&mut connection, &utility_id, now - WINDOW_MS).await?;
        answer.push(UtilityLifetime {
            utility_id,
            observed: lives.len() as u64,
            median_days: percentile(&lives, 0.5).map_or(0.0, |ms| ms as f64 / day),
            p90_days: percentile(&lives, 0.9).map_or(0.0, |ms| ms as f64 / day),
        });
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let lives: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&lives, 0.5), Some(5));
        assert_eq!(percentile(&lives, 0.9), Some(9));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }
}

//! Data sync: reads a connected credential's accounts and statements from its
//! utility with the stored session token and stores what is new.
//!
//! The outcome decides what happens next: new data gives a
//! NEW_DATA_AVAILABLE event and webhook; a rejected token moves the
//! credential to MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED (once); a
//! utility that is not answering is tried again with backoff, and after
//! [`crate::domain::lifecycle::syncs::INACCESSIBLE_AFTER`] failures in a row the credential shows
//! PROVIDER_WEBSITE_INACCESSIBLE until a sync succeeds again.

pub mod storage;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::domain::credentials::secrets::open_token;
use crate::domain::credentials::store::{find_by_id_with, CredentialRow};
use crate::domain::ctx::Ctx;
use crate::domain::lifecycle::syncs::{
    mark_refresh_required, retry_later, stored, unschedule, SyncOutcome,
};
use crate::infra::utility::{Account, SecretToken, Statement, UtilityConnector, UtilityError};

/// Syncs one credential now and schedules its next sync.
#[tracing::instrument(skip(ctx, utility, actor))]
pub async fn sync(
    ctx: &Ctx,
    utility: &dyn UtilityConnector,
    credential_id: &str,
    actor: &str,
) -> anyhow::Result<SyncOutcome> {
    let read_token = |row: &AnyRow| row.try_get::<Option<String>, _>("sealed_session_token");
    let found = find_by_id_with(
        &ctx.db,
        credential_id,
        &["sealed_session_token"],
        read_token,
    )
    .await?;
    let Some((row, sealed_token)) = found else {
        return Ok(SyncOutcome::NotConnected);
    };
    let Some(token) = stored_token(ctx, &row, sealed_token)? else {
        unschedule(ctx, credential_id).await?;
        return Ok(SyncOutcome::NotConnected);
    };
    match read_utility(utility, &row, &token).await {
        Ok((accounts, statements)) => stored(ctx, &row, &accounts, &statements, actor).await,
        Err(error) if error.rejects_the_token() => {
            mark_refresh_required(ctx, &row, actor).await?;
            Ok(SyncOutcome::TokenRejected)
        }
        // Down, answering nonsense, or not knowing the utility any more: a
        // person cannot fix that on the credential, so try again later.
        Err(error) => {
            let failures_in_a_row = retry_later(ctx, &row, &error, actor).await?;
            Ok(SyncOutcome::UtilityUnavailable { failures_in_a_row })
        }
    }
}

/// Whether the credential can sync: active, and connected or waiting for its
/// utility to answer again.
pub fn is_syncable(row: &CredentialRow) -> bool {
    row.deactivated_at.is_none() && row.status_detail.is_syncable()
}

/// The session token, opened, of a credential that can be synced, if it has one.
fn stored_token(
    ctx: &Ctx,
    row: &CredentialRow,
    sealed: Option<String>,
) -> anyhow::Result<Option<SecretToken>> {
    if !is_syncable(row) {
        return Ok(None);
    }
    sealed
        .map(|sealed| open_token(&ctx.keyring, &row.id, &sealed))
        .transpose()
}

async fn read_utility(
    utility: &dyn UtilityConnector,
    row: &CredentialRow,
    token: &SecretToken,
) -> Result<(Vec<Account>, Vec<Statement>), UtilityError> {
    let accounts = utility.accounts(&row.utility_id, token).await?;
    let mut statements = Vec::new();
    for account in &accounts {
        statements.append(
            &mut utility
                .statements(&row.utility_id, token, &account.account_number)
                .await?,
        );
    }
    Ok((accounts, statements))
}

//! What a domain operation answers when it does not happen; `http` turns it
//! into the shared error body.

/// Why a domain read or change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing does not exist, or belongs to another organisation
    /// (e.g. "The credential").
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

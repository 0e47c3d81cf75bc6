//! What Gridlink does, without HTTP: the credential lifecycle (the one writer
//! of every status), credential reads, syncs, refresh notices and mail,
//! webhooks, incidents, learned lifetimes, organisations and operator sessions.
//! Everything here takes a narrow [`ctx::Ctx`] (or just a database connection)
//! and returns domain errors that `http` turns into answers.

pub mod audit;
pub mod credentials;
pub mod ctx;
pub mod error;
pub mod gauges;
pub mod incidents;
pub mod key_rotation;
pub mod lifecycle;
pub mod lifetimes;
pub mod login_watch;
pub mod mail;
pub mod operator_sessions;
pub mod organisations;
pub mod passkeys;
pub mod second_factor;
pub mod settings;
pub mod single_sign_on;
pub mod sync;
pub mod webhooks;

//! Mail Gridlink sends: update links and reminders to end-users, invitations
//! and password resets to operators. Mail is queued in the database
//! ([`outbox`]) with the change it tells about and sent by the mail job
//! (`jobs::mail_delivery`) over SMTP ([`crate::infra::mail_transport`]);
//! the words are in [`messages`], in English and Spanish.

pub mod messages;
pub mod notices;
pub mod outbox;
pub mod unsubscribe;

//! One module per screen.

pub mod connect;
pub mod dashboard;
pub mod not_found;

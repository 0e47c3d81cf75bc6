//! Building blocks shared by the pages.

pub mod layout;
pub mod loading;
pub mod status;

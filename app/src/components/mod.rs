//! Building blocks shared by the pages.

pub mod brand_mark;
pub mod connect_dialog;
pub mod loading;
pub mod status;
pub mod text_field;
pub mod utility_name;
pub mod write;

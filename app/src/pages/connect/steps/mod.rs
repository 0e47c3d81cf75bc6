//! One file per Connect step. Each reads the flow's state reactively and
//! moves the flow on through [`Flow::run`](super::state::Flow::run).

mod choose_method;
mod common;
mod confirm;
mod connecting;
mod credentials;
mod enter_code;
mod failed;
mod recovery_alert;
mod success;

pub use choose_method::ChooseMethodStep;
pub use confirm::ConfirmStep;
pub use connecting::ConnectingStep;
pub use credentials::CredentialsStep;
pub use enter_code::EnterCodeStep;
pub use failed::FailedStep;
pub use success::SuccessStep;

//! The top floor, and the only place that builds every context: the command
//! line, configuration assembly, the demo, the start banner, the master key
//! check, starting the server and shutting it down.

pub mod banner;
pub mod cli;
pub mod config;
pub mod demo;
pub mod key_check;
pub mod server;
pub mod shutdown;

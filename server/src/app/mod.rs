//! The top floor, and the only place that builds every context: the command
//! line, backups, configuration assembly, the demo, the start banner, the master key
//! check, starting the server and shutting it down, and where logs and
//! traces go.

pub mod backup;
pub mod banner;
pub mod cli;
pub mod config;
pub mod demo;
pub mod key_check;
pub mod server;
pub mod shutdown;
pub mod telemetry;

//! Utility incidents: the calls counted per utility ([`tally`]).

pub mod tally;

//! Beside the server: the sandbox utilities (real HTTP services that behave
//! like utilities) and the conformance kit that checks an adapter.

pub mod conformance;
pub mod sandbox;

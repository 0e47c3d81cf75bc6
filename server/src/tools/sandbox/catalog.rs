//! The sandbox's utilities and scenario logins: who exists, how they verify,
//! how long their sessions live.

use std::time::Duration;

/// How a sandbox utility asks for a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaPolicy {
    /// Never asks.
    None,
    /// Sends a one-time code by one of these methods.
    Codes(&'static [&'static str]),
    /// Asks security questions, which Gridlink cannot answer for the user.
    SecurityQuestions,
}

#[derive(Debug, Clone, Copy)]
pub struct SandboxUtility {
    pub id: &'static str,
    pub name: &'static str,
    pub mfa: MfaPolicy,
    pub token_lifetime: TokenLifetime,
    /// `electricity`, `gas` or `water`: what its statements measure.
    pub fuel: &'static str,
    /// A token unused for this many seconds stops working (stated with each token).
    pub idle_timeout_seconds: Option<u64>,
}

/// How long a sandbox utility's session tokens live, and whether it says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenLifetime {
    /// This many days, stated with each token.
    Stated(u32),
    /// Between these many days, at random per token, and never stated: the
    /// token is simply refused one day (as many real utilities do).
    Unstated { min_days: u32, max_days: u32 },
}

impl SandboxUtility {
    /// A new token's life, and whether the utility states it.
    pub fn new_token_life(&self) -> (Duration, bool) {
        let days = |days: u32| Duration::from_secs(u64::from(days) * 24 * 60 * 60);
        match self.token_lifetime {
            TokenLifetime::Stated(n) => (days(n), true),
            TokenLifetime::Unstated { min_days, max_days } => {
                use rand::Rng;
                let seconds = rand::thread_rng()
                    .gen_range(days(min_days).as_secs()..=days(max_days).as_secs());
                (Duration::from_secs(seconds), false)
            }
        }
    }

    /// The lifetime the catalogue states, in days; `None` when it says nothing.
    pub fn stated_lifetime_days(&self) -> Option<u32> {
        match self.token_lifetime {
            TokenLifetime::Stated(days) => Some(days),
            TokenLifetime::Unstated { .. } => None,
        }
    }

    /// The wire names of the methods its challenges offer.
    pub fn offered_methods(&self) -> Vec<&'static str> {
        match self.mfa {
            MfaPolicy::None => Vec::new(),
            MfaPolicy::Codes(methods) => methods.to_vec(),
            MfaPolicy::SecurityQuestions => vec!["security_question"],
        }
    }
}

pub const UTILITIES: [SandboxUtility; 7] = [
    SandboxUtility {
        id: "sandbox-electric",
        name: "Sandbox Electric",
        mfa: MfaPolicy::Codes(&["sms", "call", "email"]),
        token_lifetime: TokenLifetime::Stated(30),
        fuel: "electricity",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-gas",
        name: "Sandbox Gas",
        mfa: MfaPolicy::Codes(&["sms"]),
        token_lifetime: TokenLifetime::Stated(14),
        fuel: "gas",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-water",
        name: "Sandbox Water",
        mfa: MfaPolicy::None,
        token_lifetime: TokenLifetime::Stated(365),
        fuel: "water",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-municipal-power",
        name: "Sandbox Municipal Power",
        mfa: MfaPolicy::Codes(&["email"]),
        token_lifetime: TokenLifetime::Stated(7),
        fuel: "electricity",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-silent-power",
        name: "Sandbox Silent Power",
        mfa: MfaPolicy::Codes(&["sms", "email"]),
        token_lifetime: TokenLifetime::Unstated {
            min_days: 20,
            max_days: 40,
        },
        fuel: "electricity",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-legacy",
        name: "Sandbox Legacy Utility",
        mfa: MfaPolicy::SecurityQuestions,
        token_lifetime: TokenLifetime::Stated(30),
        fuel: "electricity",
        idle_timeout_seconds: None,
    },
    SandboxUtility {
        id: "sandbox-idle-power",
        name: "Sandbox Idle Power",
        mfa: MfaPolicy::Codes(&["sms"]),
        token_lifetime: TokenLifetime::Stated(30),
        fuel: "electricity",
        // Its tokens die after two hours unused, as many utilities' sessions do.
        idle_timeout_seconds: Some(2 * 60 * 60),
    },
];

pub fn find_utility(id: &str) -> Option<&'static SandboxUtility> {
    UTILITIES.iter().find(|utility| utility.id == id)
}

/// The one password every scenario login accepts.
pub const GOOD_PASSWORD: &str = "pass_good";

/// What a scenario login does, the same at every utility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Verifies as the utility does (MFA where it has it).
    Good,
    /// Never asked for a second factor.
    NoMfa,
    /// The account is locked at the utility.
    Locked,
    /// The utility is unavailable for this login.
    Down,
    /// Answers like `Good`, after about five seconds.
    Slow,
}

/// The scenario logins, with a sentence each for the index page and README.
pub const SCENARIOS: [(&str, Scenario, &str); 5] = [
    (
        "user_good",
        Scenario::Good,
        "Valid login; MFA as the utility does it.",
    ),
    (
        "user_nomfa",
        Scenario::NoMfa,
        "Valid login that is never asked for MFA.",
    ),
    (
        "user_locked",
        Scenario::Locked,
        "The account is locked at the utility.",
    ),
    (
        "user_down",
        Scenario::Down,
        "The utility is unavailable (HTTP 503).",
    ),
    (
        "user_slow",
        Scenario::Slow,
        "Valid login; every answer takes about 5 seconds.",
    ),
];

pub const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// The scenario a login follows. `user_good+anything` (and the same for
/// every scenario) is a login of its own, with its own codes, sessions and
/// lockouts, that behaves like `user_good`: tests and load runs get as many
/// independent logins as they need.
pub fn find_scenario(username: &str) -> Option<Scenario> {
    let base = match username.split_once('+') {
        Some((base, suffix)) if !suffix.is_empty() => base,
        _ => username,
    };
    SCENARIOS
        .iter()
        .find(|(name, _, _)| *name == base)
        .map(|(_, scenario, _)| *scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plus_suffix_keeps_the_scenario_of_its_base_login() {
        assert_eq!(find_scenario("user_good+alice"), Some(Scenario::Good));
        assert_eq!(find_scenario("user_nomfa+42"), Some(Scenario::NoMfa));
        assert_eq!(find_scenario("user_good+"), None);
        assert_eq!(find_scenario("someone+user_good"), None);
    }
}

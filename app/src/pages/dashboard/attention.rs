//! Why a credential needs someone, grouped as an operator acts on it: each
//! reason names the status details it covers (or "stale"), where the list
//! shows exactly those credentials, and what to do.

use shared::StatusDetail;

/// One reason a credential needs attention.
pub struct Reason {
    pub label: &'static str,
    /// The status details it covers; empty for [`Reason::stale`].
    pub details: &'static [StatusDetail],
    /// Connected, yet no data for longer than the stale limit.
    pub stale: bool,
    pub what_to_do: &'static str,
}

impl Reason {
    /// The `statusDetail` filter value of its details (comma-separated).
    pub fn filter(&self) -> String {
        self.details
            .iter()
            .map(|detail| detail.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The credential list showing exactly these credentials.
    pub fn href(&self) -> String {
        if self.stale {
            "/dashboard/credentials?stale=true".to_owned()
        } else {
            format!("/dashboard/credentials?statusDetail={}", self.filter())
        }
    }
}

pub const REASONS: [Reason; 5] = [
    Reason {
        label: "Needs a new verification",
        details: &[StatusDetail::MultiFactorAuthenticationRefreshRequired],
        stale: false,
        what_to_do: "The utility's session expired. Mail an update link, or use Retry MFA Verification with the end-user.",
    },
    Reason {
        label: "Action required",
        details: &[
            StatusDetail::InvalidCredentials,
            StatusDetail::MultiFactorAuthenticationFailed,
            StatusDetail::UnsupportedMultiFactorAuthentication,
            StatusDetail::OtherAccessLimitation,
        ],
        stale: false,
        what_to_do: "Wrong login, failed verification or a locked account: ask the end-user to connect again.",
    },
    Reason {
        label: "Awaiting verification",
        details: &[
            StatusDetail::MultiFactorAuthenticationMethodRequired,
            StatusDetail::MultiFactorAuthenticationCodeRequired,
        ],
        stale: false,
        what_to_do: "The end-user stopped before entering a code. Their link works for 72 hours; send a new one if it expired.",
    },
    Reason {
        label: "Failing utility",
        details: &[StatusDetail::ProviderWebsiteInaccessible],
        stale: false,
        what_to_do: "The utility is not answering. Gridlink keeps retrying; check Settings → Utilities for an incident.",
    },
    Reason {
        label: "Stale",
        details: &[],
        stale: true,
        what_to_do: "Connected, yet no data for longer than the stale limit. Try Sync now; a utility that stopped answering is the usual cause.",
    },
];

/// The reasons that group several details, as the list's filter offers them.
pub fn groups() -> impl Iterator<Item = &'static Reason> {
    REASONS.iter().filter(|reason| reason.details.len() > 1)
}

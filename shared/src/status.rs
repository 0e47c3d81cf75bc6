//! The credential status vocabulary: `status`, `statusDetail` and the two
//! derived flags. This is the one place that maps a detail to its flags.

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// The coarse state of a credential's connection to its utility.
    pub enum Status {
        ConnectionInProgress = "CONNECTION_IN_PROGRESS",
        ConnectionSuccess = "CONNECTION_SUCCESS",
        ConnectionFailure = "CONNECTION_FAILURE",
    }
}

impl Status {
    /// The status in words ("Connection failure"), shown beside its code.
    pub fn label(self) -> &'static str {
        match self {
            Status::ConnectionInProgress => "Connecting",
            Status::ConnectionSuccess => "Connected",
            Status::ConnectionFailure => "Connection failure",
        }
    }
}

crate::wire_enum! {
    /// The precise state of a credential; each detail belongs to exactly one [`Status`].
    pub enum StatusDetail {
        Connecting = "CONNECTING",
        MultiFactorAuthenticationMethodRequired = "MULTI_FACTOR_AUTHENTICATION_METHOD_REQUIRED",
        MultiFactorAuthenticationCodeRequired = "MULTI_FACTOR_AUTHENTICATION_CODE_REQUIRED",
        ProviderWebsiteInaccessible = "PROVIDER_WEBSITE_INACCESSIBLE",
        LoginAndDataDiscoverySuccessful = "LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL",
        InvalidCredentials = "INVALID_CREDENTIALS",
        MultiFactorAuthenticationRefreshRequired = "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED",
        MultiFactorAuthenticationFailed = "MULTI_FACTOR_AUTHENTICATION_FAILED",
        UnsupportedMultiFactorAuthentication = "UNSUPPORTED_MULTI_FACTOR_AUTHENTICATION",
        OtherAccessLimitation = "OTHER_ACCESS_LIMITATION",
    }
}

impl StatusDetail {
    /// The status this detail belongs to.
    pub fn status(self) -> Status {
        use StatusDetail::*;
        match self {
            Connecting
            | MultiFactorAuthenticationMethodRequired
            | MultiFactorAuthenticationCodeRequired
            | ProviderWebsiteInaccessible => Status::ConnectionInProgress,
            LoginAndDataDiscoverySuccessful => Status::ConnectionSuccess,
            InvalidCredentials
            | MultiFactorAuthenticationRefreshRequired
            | MultiFactorAuthenticationFailed
            | UnsupportedMultiFactorAuthentication
            | OtherAccessLimitation => Status::ConnectionFailure,
        }
    }

    /// Whether the end-user or operator must do something before data flows again.
    pub fn is_customer_action_required(self) -> bool {
        use StatusDetail::*;
        !matches!(
            self,
            Connecting | ProviderWebsiteInaccessible | LoginAndDataDiscoverySuccessful
        )
    }

    /// Whether a credential in this detail syncs (and can go stale):
    /// connected, or connected but waiting for its utility to answer again.
    pub fn is_syncable(self) -> bool {
        matches!(
            self,
            StatusDetail::LoginAndDataDiscoverySuccessful
                | StatusDetail::ProviderWebsiteInaccessible
        )
    }

    /// Whether a verification is under way: the end-user chooses a method or
    /// enters a code.
    pub fn is_verifying(self) -> bool {
        matches!(
            self,
            StatusDetail::MultiFactorAuthenticationMethodRequired
                | StatusDetail::MultiFactorAuthenticationCodeRequired
        )
    }

    /// Whether data can be synced with the stored session token.
    pub fn is_accessible(self) -> bool {
        self == StatusDetail::LoginAndDataDiscoverySuccessful
    }

    /// A short name people read at a glance ("Needs a new verification"),
    /// shown beside the code.
    pub fn label(self) -> &'static str {
        use StatusDetail::*;
        match self {
            Connecting => "Connecting",
            MultiFactorAuthenticationMethodRequired => "Waiting for a verification method",
            MultiFactorAuthenticationCodeRequired => "Waiting for the code",
            ProviderWebsiteInaccessible => "Utility not answering",
            LoginAndDataDiscoverySuccessful => "Connected",
            InvalidCredentials => "Wrong username or password",
            MultiFactorAuthenticationRefreshRequired => "Needs a new verification",
            MultiFactorAuthenticationFailed => "Verification failed",
            UnsupportedMultiFactorAuthentication => "Verification not supported",
            OtherAccessLimitation => "Account locked",
        }
    }

    /// A sentence an operator can act on, shown beside the detail's name.
    pub fn explanation(self) -> &'static str {
        use StatusDetail::*;
        match self {
            Connecting => "Gridlink is logging in to the utility.",
            MultiFactorAuthenticationMethodRequired => {
                "The utility asks for a verification method: SMS, call or email."
            }
            MultiFactorAuthenticationCodeRequired => {
                "A verification code was sent and is waiting to be entered."
            }
            ProviderWebsiteInaccessible => {
                "The utility's website is not answering; Gridlink keeps retrying."
            }
            LoginAndDataDiscoverySuccessful => "Connected: data is syncing.",
            InvalidCredentials => "The utility rejected the username or password.",
            MultiFactorAuthenticationRefreshRequired => {
                "The utility's session expired: verify with a new code to resume syncing."
            }
            MultiFactorAuthenticationFailed => {
                "Verification failed (too many wrong codes or the code expired)."
            }
            UnsupportedMultiFactorAuthentication => {
                "The utility asks for a kind of verification Gridlink cannot do."
            }
            OtherAccessLimitation => "The account is locked at the utility.",
        }
    }
}

/// A detail with its status and flags, as the API presents a credential's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    pub status: Status,
    pub status_detail: StatusDetail,
    pub is_customer_action_required: bool,
    pub is_accessible: bool,
}

impl From<StatusDetail> for CredentialStatus {
    fn from(detail: StatusDetail) -> Self {
        CredentialStatus {
            status: detail.status(),
            status_detail: detail,
            is_customer_action_required: detail.is_customer_action_required(),
            is_accessible: detail.is_accessible(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detail_matches_the_design_table() {
        use Status::*;
        use StatusDetail::*;
        // (detail, status, action required, accessible), copied from DESIGN.md.
        let table = [
            (Connecting, ConnectionInProgress, false, false),
            (
                MultiFactorAuthenticationMethodRequired,
                ConnectionInProgress,
                true,
                false,
            ),
            (
                MultiFactorAuthenticationCodeRequired,
                ConnectionInProgress,
                true,
                false,
            ),
            (
                ProviderWebsiteInaccessible,
                ConnectionInProgress,
                false,
                false,
            ),
            (
                LoginAndDataDiscoverySuccessful,
                ConnectionSuccess,
                false,
                true,
            ),
            (InvalidCredentials, ConnectionFailure, true, false),
            (
                MultiFactorAuthenticationRefreshRequired,
                ConnectionFailure,
                true,
                false,
            ),
            (
                MultiFactorAuthenticationFailed,
                ConnectionFailure,
                true,
                false,
            ),
            (
                UnsupportedMultiFactorAuthentication,
                ConnectionFailure,
                true,
                false,
            ),
            (OtherAccessLimitation, ConnectionFailure, true, false),
        ];
        assert_eq!(table.len(), StatusDetail::ALL.len());
        for (detail, status, action, accessible) in table {
            let flags = CredentialStatus::from(detail);
            assert_eq!(flags.status, status, "{detail}");
            assert_eq!(flags.is_customer_action_required, action, "{detail}");
            assert_eq!(flags.is_accessible, accessible, "{detail}");
        }
    }

    #[test]
    fn wire_names_round_trip_through_parse_and_serde() {
        for detail in StatusDetail::ALL {
            assert_eq!(StatusDetail::parse(detail.as_str()), Some(detail));
            let json = serde_json::to_string(&detail).unwrap();
            assert_eq!(json, format!("\"{}\"", detail.as_str()));
        }
    }

    #[test]
    fn status_wire_names_match_serde() {
        for status in [
            Status::ConnectionInProgress,
            Status::ConnectionSuccess,
            Status::ConnectionFailure,
        ] {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
        }
    }

    #[test]
    fn an_unknown_wire_name_is_not_a_detail() {
        assert_eq!(StatusDetail::parse("CONNECTED"), None);
        assert_eq!(StatusDetail::parse("connecting"), None);
    }

    #[test]
    fn the_api_shape_uses_camel_case_keys() {
        let json = serde_json::to_value(CredentialStatus::from(
            StatusDetail::MultiFactorAuthenticationRefreshRequired,
        ))
        .unwrap();
        assert_eq!(json["status"], "CONNECTION_FAILURE");
        assert_eq!(
            json["statusDetail"],
            "MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED"
        );
        assert_eq!(json["isCustomerActionRequired"], true);
        assert_eq!(json["isAccessible"], false);
    }
}

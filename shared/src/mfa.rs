//! The verification methods Gridlink can complete with an end-user.

crate::wire_enum! {
    /// How a utility delivers a one-time code.
    pub enum MfaMethod {
        Sms = "SMS",
        Call = "CALL",
        Email = "EMAIL",
    }
}

impl MfaMethod {
    /// The name utilities use on the wire (`sms`, `call`, `email`).
    pub fn wire_name(self) -> &'static str {
        match self {
            MfaMethod::Sms => "sms",
            MfaMethod::Call => "call",
            MfaMethod::Email => "email",
        }
    }

    /// Parses a utility's wire name; `None` for methods Gridlink cannot do.
    pub fn from_wire_name(name: &str) -> Option<MfaMethod> {
        MfaMethod::ALL
            .into_iter()
            .find(|method| method.wire_name() == name)
    }

    /// The label shown to end-users.
    pub fn label(self) -> &'static str {
        match self {
            MfaMethod::Sms => "Text message (SMS)",
            MfaMethod::Call => "Phone call",
            MfaMethod::Email => "Email",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for method in MfaMethod::ALL {
            assert_eq!(MfaMethod::from_wire_name(method.wire_name()), Some(method));
        }
    }

    #[test]
    fn security_questions_are_not_a_method_gridlink_can_do() {
        assert_eq!(MfaMethod::from_wire_name("security_question"), None);
    }

    #[test]
    fn the_api_spells_methods_in_capitals() {
        assert_eq!(serde_json::to_string(&MfaMethod::Sms).unwrap(), "\"SMS\"");
    }
}

//! Deterministic per-login details: where codes go, how destinations are
//! masked, and a seed for accounts and bills.

/// A stable 64-bit seed for a utility and login (FNV-1a: tiny and deterministic).
pub fn seed(utility_id: &str, username: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in utility_id.bytes().chain([0]).chain(username.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The last four digits of the login's phone number.
fn phone_last_four(utility_id: &str, username: &str) -> u64 {
    1000 + seed(utility_id, username) % 9000
}

/// The destination shown for `method`, masked as utilities do.
pub fn masked_destination(method: &str, utility_id: &str, username: &str) -> Option<String> {
    match method {
        "sms" | "call" => Some(format!("•••-•••-{}", phone_last_four(utility_id, username))),
        "email" => {
            let first = username.chars().next().unwrap_or('u');
            Some(format!("{first}•••@example.com"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_destination_shows_only_four_digits() {
        let masked = masked_destination("sms", "sandbox-electric", "user_good").unwrap();
        assert!(masked.starts_with("•••-•••-"));
        assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 4);
        assert_eq!(
            masked,
            masked_destination("call", "sandbox-electric", "user_good").unwrap()
        );
    }

    #[test]
    fn an_email_destination_shows_only_the_first_letter() {
        assert_eq!(
            masked_destination("email", "sandbox-electric", "jane").unwrap(),
            "j•••@example.com"
        );
    }

    #[test]
    fn the_seed_is_stable_and_differs_between_logins() {
        assert_eq!(seed("a", "b"), seed("a", "b"));
        assert_ne!(seed("a", "b"), seed("a", "c"));
        assert_ne!(seed("ab", ""), seed("a", "b"));
    }
}

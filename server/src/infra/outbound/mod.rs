//! Connections Gridlink opens to the outside world (utilities, webhook
//! receivers): TLS that is always verified, addresses a webhook may not
//! reach, and answers read only up to a size cap.

pub mod address_policy;
pub mod bounded_body;
pub mod trust;

pub use trust::TrustRoots;

/// The first `max_chars` characters of `text`, with an ellipsis when cut:
/// for text from outside that is kept or shown (error messages, response bodies).
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Every cause of an error, outermost first. `std::io::Error` hides the error
/// it wraps from `source()`, so its inner error is visited explicitly.
pub fn error_chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        chain.push(current);
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    chain
}

/// The first error of type `E` in `error`'s chain.
pub fn find_cause<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    error_chain(error)
        .into_iter()
        .find_map(|cause| cause.downcast_ref::<E>())
}

/// Words for a TLS failure an operator can act on, if `error` is one.
pub fn describe_tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rustls::{CertificateError, Error as Tls};
    let tls = find_cause::<Tls>(error)?;
    Some(match tls {
        Tls::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's TLS certificate is not trusted (issued by an unknown certificate authority; \
             add the CA to SSL_CERT_FILE if it is your own)"
                .to_owned()
        }
        Tls::InvalidCertificate(CertificateError::NotValidForName)
        | Tls::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            "the server's TLS certificate is not valid for this host name".to_owned()
        }
        Tls::InvalidCertificate(CertificateError::Expired)
        | Tls::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            "the server's TLS certificate has expired".to_owned()
        }
        Tls::InvalidCertificate(other) => {
            format!("the server's TLS certificate is not trusted ({other:?})")
        }
        other => format!("the TLS handshake failed ({other})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_cuts_on_characters_and_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 3), "ééé…");
    }

    #[test]
    fn a_tls_error_inside_an_io_error_is_found() {
        let io = std::io::Error::other(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let described = describe_tls_failure(&io).expect("a TLS failure");
        assert!(described.contains("not trusted"), "{described}");
    }
}

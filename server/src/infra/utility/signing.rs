//! Every call Gridlink makes to a utility adapter is signed with the
//! adapter's shared secret, the way Gridlink signs its webhooks (Standard
//! Webhooks), so an adapter verifies it with a Standard Webhooks library:
//!
//! - headers `webhook-id` (unique per request), `webhook-timestamp` (Unix
//!   seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256);
//! - the signed payload is `"{METHOD} {path and query}\n{body}"` (the body
//!   empty for a GET), so method, path, time and body are all covered. With a
//!   library: `wh.verify(method + " " + pathAndQuery + "\n" + body, headers)`.
//!
//! An adapter refuses a request whose timestamp is more than
//! [`TOLERANCE_SECONDS`] away from its clock, or whose id it already saw.

use reqwest::header::HeaderMap;

use crate::infra::webhook_signing::SigningSecret;

pub const ID: &str = "webhook-id";
pub const TIMESTAMP: &str = "webhook-timestamp";
pub const SIGNATURE: &str = "webhook-signature";
/// How far a request's timestamp may be from the adapter's clock: 5 minutes.
pub const TOLERANCE_SECONDS: i64 = 300;

/// What is signed for one request.
pub fn payload(method: &str, path_and_query: &str, body: &[u8]) -> String {
    format!(
        "{method} {path_and_query}\n{}",
        String::from_utf8_lossy(body)
    )
}

/// The three headers for one request at `now_seconds`.
pub fn headers(
    secret: &SigningSecret,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now_seconds: i64,
) -> [(&'static str, String); 3] {
    let id = crate::infra::tokens::new_id("req");
    let signature = secret.sign(&id, now_seconds, &payload(method, path_and_query, body));
    [
        (ID, id),
        (TIMESTAMP, now_seconds.to_string()),
        (SIGNATURE, signature),
    ]
}

/// Seconds since the Unix epoch, as `webhook-timestamp` carries them.
pub fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `request` to `url` with the three headers, signed at `at_seconds`.
pub fn sign(
    request: reqwest::RequestBuilder,
    secret: &SigningSecret,
    method: &reqwest::Method,
    url: &reqwest::Url,
    body: &[u8],
    at_seconds: i64,
) -> reqwest::RequestBuilder {
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    headers(secret, method.as_str(), &path_and_query, body, at_seconds)
        .into_iter()
        .fold(request, |request, (name, value)| {
            request.header(name, value)
        })
}

/// Why an adapter refused a request's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the request is not signed (no {0} header)")]
    Unsigned(&'static str),
    #[error("the request's timestamp is more than 5 minutes from now")]
    OutOfTime,
    #[error("the signature does not match the request")]
    WrongSignature,
}

/// Checks a request's signature and time; returns its id (to refuse it if seen again).
pub fn verify(
    secret: &SigningSecret,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_seconds: i64,
) -> Result<String, Refused> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .ok_or(Refused::Unsigned(name))
    };
    let id = header(ID)?;
    let timestamp: i64 = header(TIMESTAMP)?.parse().map_err(|_| Refused::OutOfTime)?;
    let signatures = header(SIGNATURE)?;
    if (now_seconds - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(Refused::OutOfTime);
    }
    let signed = payload(method, path_and_query, body);
    if signatures
        .split(' ')
        .any(|signature| secret.verifies(signature, id, timestamp, &signed))
    {
        Ok(id.to_owned())
    } else {
        Err(Refused::WrongSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn signed(secret: &SigningSecret, method: &str, path: &str, body: &[u8], at: i64) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers(secret, method, path, body, at) {
            map.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        map
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let secret = SigningSecret::generate();
        let body = br#"{"username":"user_good"}"#;
        let path = "/api/utilities/sandbox-gas/login";
        let now = 1_800_000_000;
        let map = signed(&secret, "POST", path, body, now);
        assert!(verify(&secret, "POST", path, &map, body, now + 299).is_ok());
        assert_eq!(
            verify(&secret, "GET", path, &map, body, now),
            Err(Refused::WrongSignature)
        );
        assert_eq!(
            verify(
                &secret,
                "POST",
                "/api/utilities/sandbox-water/login",
                &map,
                body,
                now
            ),
            Err(Refused::WrongSignature)
        );
        assert_eq!(
            verify(
                &secret,
                "POST",
                path,
                &map,
                br#"{"username":"user_bad"}"#,
                now
            ),
            Err(Refused::WrongSignature)
        );
        assert_eq!(
            verify(&SigningSecret::generate(), "POST", path, &map, body, now),
            Err(Refused::WrongSignature)
        );
        assert_eq!(
            verify(&secret, "POST", path, &map, body, now + 301),
            Err(Refused::OutOfTime)
        );
        assert_eq!(
            verify(&secret, "POST", path, &HeaderMap::new(), body, now),
            Err(Refused::Unsigned(ID))
        );
    }

    #[test]
    fn the_payload_is_what_a_standard_webhooks_library_is_given() {
        // The reference secret and signature of the Standard Webhooks tests,
        // with this protocol's payload: any library computes the same.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = payload("GET", "/api/utilities", b"");
        assert_eq!(body, "GET /api/utilities\n");
        let signature = secret.sign("req_1", 1_614_265_330, &body);
        assert!(secret.verifies(&signature, "req_1", 1_614_265_330, &body));
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
    }
}

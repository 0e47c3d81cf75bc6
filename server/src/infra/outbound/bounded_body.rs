//! Reading an answer from outside up to a size cap, so a utility or a
//! webhook receiver that streams without end cannot exhaust memory.

use bytes::{Bytes, BytesMut};

/// What reading stopped at.
#[derive(Debug)]
pub enum BoundedBody {
    /// The whole body, within the cap.
    Complete(Bytes),
    /// The body went past the cap; these are its first `cap` bytes.
    Truncated(Bytes),
}

/// Reads `response`'s body, stopping after its first `cap` bytes (the rest
/// is never read, whatever length the answer announced).
pub async fn read_at_most(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<BoundedBody, reqwest::Error> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok(BoundedBody::Truncated(body.freeze()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(BoundedBody::Complete(body.freeze()))
}

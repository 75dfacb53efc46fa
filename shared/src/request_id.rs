//! Request ids: every request gets one (kept from the client or the proxy in front when it
//! looks sane, generated otherwise), it is passed on and returned in `X-Request-Id`, and
//! every log line of the request carries it.

use http::HeaderValue;

pub const HEADER: &str = "x-request-id";

/// The ALB's trace header (`Root=1-…;Parent=…;Sampled=…;Self=…`): logged by both tiers
/// and passed on by web-proxy, so an ALB access-log line joins ours.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";

/// The trace id if it looks like one (up to 256 characters of the ALB's alphabet), so a
/// client talking to us without an ALB cannot put log or header syntax into it.
pub fn trace_id(value: Option<&HeaderValue>) -> Option<&str> {
    let text = value?.to_str().ok()?;
    let sane = (1..=256).contains(&text.len())
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'=' | b';' | b':' | b'.' | b'_')
        });
    sane.then_some(text)
}

/// A request id worth keeping: 1 to 128 visible ASCII characters from a conservative
/// set, so a client cannot inject log or header syntax through it.
pub fn is_valid(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=')
        })
}

/// Returns the incoming id if valid, else a fresh UUIDv7 (time-ordered, so ids sort by
/// arrival in logs).
pub fn from_header(value: Option<&HeaderValue>) -> HeaderValue {
    if let Some(v) = value
        && v.to_str().is_ok_and(is_valid)
    {
        return v.clone();
    }
    HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
        .expect("a UUID is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        let kept = from_header(Some(&HeaderValue::from_static("abc-123")));
        assert_eq!(kept, "abc-123");
        let replaced = from_header(Some(&HeaderValue::from_static("a b\"c")));
        assert_ne!(replaced, "a b\"c");
        assert_eq!(replaced.len(), 36);
        let trace = HeaderValue::from_static("Root=1-67891233-abcdef012345678912345678;Sampled=1");
        assert_eq!(trace_id(Some(&trace)), trace.to_str().ok());
        assert_eq!(trace_id(Some(&HeaderValue::from_static("a\"b"))), None);
        assert_eq!(trace_id(Some(&HeaderValue::from_static(""))), None);
        assert_eq!(trace_id(None), None);
        let long = "x".repeat(129);
        assert!(!is_valid(&long));
        assert!(!is_valid(""));
    }
}

//! [`redact_url_userinfo`]: URLs as they may be printed.

use std::borrow::Cow;

/// `url` with the userinfo of its authority (`user:password@`) replaced by `***@`, for logs,
/// errors and printed configuration; unchanged when it has none.
/// `http://u:p@host:4318/x` prints as `http://***@host:4318/x`.
///
/// ```
/// use otlp_spool_exporters::redact_url_userinfo;
/// assert_eq!(redact_url_userinfo("https://me:s3cret@collector:4318"), "https://***@collector:4318");
/// assert_eq!(redact_url_userinfo("http://collector:4317"), "http://collector:4317");
/// ```
pub fn redact_url_userinfo(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}***{}", &url[..scheme_end], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url_userinfo;

    #[test]
    fn userinfo_is_hidden_and_nothing_else_changes() {
        for (url, shown) in [
            ("http://user:pass@host:4318/v1", "http://***@host:4318/v1"),
            ("https://token@collector", "https://***@collector"),
            ("http://a:b@c@host", "http://***@host"),
            ("http://host:4317", "http://host:4317"),
            (
                "http://host/path@not-userinfo",
                "http://host/path@not-userinfo",
            ),
            ("no scheme user:pw@x", "no scheme user:pw@x"),
        ] {
            assert_eq!(redact_url_userinfo(url), shown, "{url}");
        }
    }
}

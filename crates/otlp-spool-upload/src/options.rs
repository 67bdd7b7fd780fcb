//! [`UploadOptions`]: where the lake is and how the uploader behaves, validated in `build()`.
//!
//! Invariants: an `UploadOptions` value always holds a parsed `s3://BUCKET/PREFIX`
//! destination, a part size S3 accepts (5 MiB to 5 GiB), and plain HTTP only towards a
//! loopback endpoint with `allow_http` set. Every refusal is a [`ConfigError`] naming the
//! option (the facade prefixes `storage.upload.`).

use std::fmt;
use std::time::Duration;

use otlp_spool_breaker::CircuitBreaker;

use crate::credentials::Credentials;
use crate::error::ConfigError;

/// S3's smallest part (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// S3's largest part, and the largest object a single copy can create (the uploader copies a
/// multipart staging object into place in one `UploadPartCopy`).
pub const MAX_PART_SIZE: u64 = 5 << 30;

/// The bucket and key prefix of the lake, parsed from `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    bucket: String,
    prefix: String,
}

impl Destination {
    /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX` (the prefix may have several segments;
    /// leading and trailing slashes are dropped).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{url}` must look like s3://BUCKET/PREFIX"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid_bucket {
            return Err(format!(
                "`{bucket}` is not a bucket name (3 to 63 lowercase letters, digits, `-`, `.`)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|s| s.is_empty() && !prefix.is_empty())
            || prefix.split('/').any(|s| s == "." || s == "..")
            || prefix.chars().any(|c| c.is_control() || c == '\\')
        {
            return Err(format!(
                "prefix `{prefix}` has an empty, `.` or `..` segment or a control character"
            ));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix without leading or trailing slash (may be empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix/rest`, or `rest` when there is no prefix.
    pub(crate) fn key(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_owned()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Validated settings of an [`Uploader`](crate::Uploader). Build with [`UploadOptions::builder`].
#[derive(Debug, Clone)]
pub struct UploadOptions {
    pub(crate) destination: Destination,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) allow_http: bool,
    pub(crate) credentials: Credentials,
    pub(crate) delete_after_upload: bool,
    pub(crate) multipart_threshold: u64,
    pub(crate) part_size: u64,
    pub(crate) concurrency: usize,
    pub(crate) scan_interval: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) breaker: Option<CircuitBreaker>,
}

impl UploadOptions {
    /// Options for the lake at `url` (`s3://BUCKET/PREFIX`), with the defaults below.
    pub fn builder(url: impl Into<String>) -> UploadOptionsBuilder {
        UploadOptionsBuilder {
            url: url.into(),
            endpoint: None,
            region: None,
            allow_http: false,
            credentials: Credentials::from_environment(),
            delete_after_upload: false,
            multipart_threshold: 8 << 20,
            part_size: 8 << 20,
            concurrency: 2,
            scan_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            breaker: None,
        }
    }

    /// The lake's bucket and prefix.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }
}

/// Builder of [`UploadOptions`]; [`build`](UploadOptionsBuilder::build) validates.
#[derive(Debug, Clone)]
pub struct UploadOptionsBuilder {
    url: String,
    endpoint: Option<String>,
    region: Option<String>,
    allow_http: bool,
    credentials: Credentials,
    delete_after_upload: bool,
    multipart_threshold: u64,
    part_size: u64,
    concurrency: usize,
    scan_interval: Duration,
    request_timeout: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    breaker: Option<CircuitBreaker>,
}

impl UploadOptionsBuilder {
    /// An S3-compatible server (`https://host[:port]`, or `http://` on loopback with
    /// [`allow_http`](Self::allow_http)); requests are path-style. Default: AWS S3 of the region.
    pub fn endpoint(mut self, endpoint: Option<String>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else
    /// `us-east-1` (resolved with the credentials).
    pub fn region(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }

    /// Allows an `http://` endpoint; refused unless the endpoint is a loopback address.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Where the credentials come from. Default [`Credentials::from_environment`].
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Deletes a local file once its upload is confirmed and recorded. Default false.
    pub fn delete_after_upload(mut self, delete: bool) -> Self {
        self.delete_after_upload = delete;
        self
    }

    /// Files at least this large go up as multipart uploads. Default 8 MiB. (A file smaller
    /// than `part_size` is then a one-part upload, which S3 accepts at any size.)
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// The size of each part of a multipart upload. Default 8 MiB, 5 MiB to 5 GiB.
    pub fn part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Files uploaded at once. Default 2. Memory held is about `concurrency` times the larger
    /// of `multipart_threshold` and two parts.
    pub fn concurrency(mut self, files: usize) -> Self {
        self.concurrency = files;
        self
    }

    /// How often the output directory is listed for new files. Default 1 s.
    pub fn scan_interval(mut self, interval: Duration) -> Self {
        self.scan_interval = interval;
        self
    }

    /// Time allowed for one request (a put, a part, a copy). Default 60 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Back-off after a failed attempt: `initial` doubling up to `max`, with ±25 % jitter.
    /// Defaults 500 ms and 30 s. Attempts never stop: the file waits on disk.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The circuit breaker in front of the server. Default: 5 consecutive failures open it
    /// for 30 s (growing to 5 min), one probe at a time.
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Validates every setting.
    pub fn build(self) -> Result<UploadOptions, ConfigError> {
        let destination = Destination::parse(&self.url).map_err(|p| ConfigError::new("url", p))?;
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint, self.allow_http)?;
        } else if self.allow_http {
            return Err(ConfigError::new(
                "allow_http",
                "is set without an endpoint (AWS S3 is reached over https only)",
            ));
        }
        if let Some(region) = &self.region
            && (region.is_empty()
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(ConfigError::new(
                "region",
                format!("`{region}` is not a region name like eu-west-1"),
            ));
        }
        if self.part_size < MIN_PART_SIZE || self.part_size > MAX_PART_SIZE {
            return Err(ConfigError::new(
                "part_size",
                format!(
                    "{} bytes is outside S3's part sizes (5MiB to 5GiB)",
                    self.part_size
                ),
            ));
        }
        if self.multipart_threshold == 0 {
            return Err(ConfigError::new(
                "multipart_threshold",
                "must be greater than zero",
            ));
        }
        if self.concurrency == 0 || self.concurrency > 64 {
            return Err(ConfigError::new("concurrency", "must be between 1 and 64"));
        }
        for (key, value) in [
            ("scan_interval", self.scan_interval),
            ("request_timeout", self.request_timeout),
            ("retry.initial_backoff", self.initial_backoff),
        ] {
            if value.is_zero() {
                return Err(ConfigError::new(key, "must be greater than zero"));
            }
        }
        if self.max_backoff < self.initial_backoff {
            return Err(ConfigError::new(
                "retry.max_backoff",
                "must not be shorter than retry.initial_backoff",
            ));
        }
        Ok(UploadOptions {
            destination,
            endpoint: self.endpoint.map(|e| e.trim_end_matches('/').to_owned()),
            region: self.region,
            allow_http: self.allow_http,
            credentials: self.credentials,
            delete_after_upload: self.delete_after_upload,
            multipart_threshold: self.multipart_threshold,
            part_size: self.part_size,
            concurrency: self.concurrency,
            scan_interval: self.scan_interval,
            request_timeout: self.request_timeout,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            breaker: self.breaker,
        })
    }
}

/// `http(s)://host[:port]` with nothing after the authority; plain HTTP only on loopback
/// and only when allowed.
fn check_endpoint(endpoint: &str, allow_http: bool) -> Result<(), ConfigError> {
    let bad = |problem: String| ConfigError::new("endpoint", problem);
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| bad(format!("`{endpoint}` must start with http:// or https://")))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err(bad(format!(
            "`{endpoint}` must be scheme://host[:port] without path, query or credentials"
        )));
    }
    match scheme {
        "https" if allow_http => Err(ConfigError::new(
            "allow_http",
            format!("is set but the endpoint `{endpoint}` is https"),
        )),
        "https" => Ok(()),
        "http" if !allow_http => Err(ConfigError::new(
            "allow_http",
            format!("the endpoint `{endpoint}` is plain http: set allow_http (loopback only)"),
        )),
        "http" if !is_loopback(authority) => Err(ConfigError::new(
            "allow_http",
            format!(
                "plain http is allowed only to a loopback endpoint (127.0.0.0/8, [::1], \
                 localhost), not `{endpoint}`"
            ),
        )),
        "http" => Ok(()),
        other => Err(bad(format!(
            "scheme `{other}` of `{endpoint}` is neither http nor https"
        ))),
    }
}

/// Whether `host[:port]` names a loopback address.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: Result<(&str, &str), &str>) {
        match (Destination::parse(url), expected) {
            (Ok(d), Ok((bucket, prefix))) => {
                assert_eq!((d.bucket(), d.prefix()), (bucket, prefix), "{url}");
            }
            (Err(e), Err(part)) => assert!(e.contains(part), "{url}: {e}"),
            (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn destinations() {
        check("s3://lake", Ok(("lake", "")));
        check("s3://lake/", Ok(("lake", "")));
        check("s3://lake/otel/prod/", Ok(("lake", "otel/prod")));
        check("s3://my.lake-1/x", Ok(("my.lake-1", "x")));
        check("https://lake/x", Err("s3://BUCKET/PREFIX"));
        check("s3://Lake/x", Err("bucket name"));
        check("s3://ab", Err("bucket name"));
        check("s3://lake/a//b", Err("empty"));
        check("s3://lake/a/../b", Err("`..`"));
    }

    #[test]
    fn endpoints() {
        let ok = |e: &str, http: bool| check_endpoint(e, http).map_err(|e| e.to_string());
        assert!(ok("https://s3.example.com", false).is_ok());
        assert!(ok("http://127.0.0.1:9000", true).is_ok());
        assert!(ok("http://[::1]:9000/", true).is_ok());
        assert!(ok("http://localhost:9000", true).is_ok());
        let err = ok("http://10.0.0.1:9000", true).unwrap_err();
        assert!(
            err.contains("allow_http") && err.contains("loopback"),
            "{err}"
        );
        let err = ok("http://127.0.0.1:9000", false).unwrap_err();
        assert!(err.contains("allow_http"), "{err}");
        assert!(
            ok("https://h/path", false)
                .unwrap_err()
                .contains("endpoint")
        );
        assert!(ok("ftp://h", false).unwrap_err().contains("scheme"));
    }

    #[test]
    fn build_names_the_bad_option() {
        let key = |b: UploadOptionsBuilder| b.build().unwrap_err().key;
        let b = || UploadOptions::builder("s3://lake/p");
        assert_eq!(key(UploadOptions::builder("lake")), "url");
        assert_eq!(key(b().part_size(1 << 20)), "part_size");
        assert_eq!(key(b().multipart_threshold(0)), "multipart_threshold");
        assert_eq!(key(b().concurrency(0)), "concurrency");
        assert_eq!(key(b().allow_http(true)), "allow_http");
        assert_eq!(key(b().region(Some("eu west".into()))), "region");
        assert_eq!(
            key(b().backoff(Duration::from_secs(2), Duration::from_secs(1))),
            "retry.max_backoff"
        );
        assert!(b().build().is_ok());
    }
}

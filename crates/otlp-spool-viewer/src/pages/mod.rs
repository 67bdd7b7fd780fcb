//! The HTML pages: each turns query parameters into a query, runs it, and renders the answer.
//! Parameters are parsed here, once; a value the viewer cannot use gives the page back with an
//! alert naming the parameter (status 400) instead of a result.

mod logs;
mod metrics;
mod traces;

pub(crate) use logs::logs_page;
pub(crate) use metrics::metrics_page;
pub(crate) use traces::{trace_page, traces_page};

use std::time::SystemTime;

use crate::error::QueryError;
use crate::time::{parse_duration, parse_time};

/// Decoded `application/x-www-form-urlencoded` query parameters.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes (and turns `+` into a space); invalid escapes stay as they are.
pub(crate) fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Params {
    pub(crate) fn parse(query: &str) -> Params {
        Params {
            pairs: query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (url_decode(k), url_decode(v))
                })
                .collect(),
        }
    }

    /// The trimmed value of `name`, `""` when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The value of `name`, `None` when absent or empty.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// A point in time (see `time::parse_time`).
    pub(crate) fn time(
        &self,
        name: &'static str,
        now: SystemTime,
    ) -> Result<Option<u64>, QueryError> {
        match self.get(name) {
            "" => Ok(None),
            v => parse_time(v, now).map(Some).map_err(|e| QueryError {
                name,
                problem: e.to_string(),
            }),
        }
    }

    /// A duration (see `time::parse_duration`).
    pub(crate) fn duration(&self, name: &'static str) -> Result<Option<u64>, QueryError> {
        match self.get(name) {
            "" => Ok(None),
            v => parse_duration(v).map(Some).map_err(|e| QueryError {
                name,
                problem: e.to_string(),
            }),
        }
    }

    /// A count between 1 and `max`, `default` when absent.
    pub(crate) fn count(
        &self,
        name: &'static str,
        default: usize,
        max: usize,
    ) -> Result<usize, QueryError> {
        match self.get(name) {
            "" => Ok(default),
            v => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(QueryError {
                    name,
                    problem: format!("`{v}`: expected a number from 1 to {max}"),
                }),
            },
        }
    }
}

/// What a page handler produced: HTML with a status.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) status: u16,
    pub(crate) page: crate::html::Page,
}

impl Rendered {
    pub(crate) fn ok(page: crate::html::Page) -> Rendered {
        Rendered { status: 200, page }
    }
}

/// Runs `run` on the query when its parameters parsed: (the answer, or the refusal to show).
pub(crate) fn attempt<Q, A>(
    parsed: Result<Q, QueryError>,
    run: impl FnOnce(&Q) -> Result<A, crate::ViewerError>,
) -> Result<(Option<A>, Option<QueryError>), crate::ViewerError> {
    match parsed {
        Ok(q) => Ok((Some(run(&q)?), None)),
        Err(e) => Ok((None, Some(e))),
    }
}

/// The hint shown in time inputs.
pub(crate) const TIME_HINT: &str = "15m, 2h, or 2026-12-03T08:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings() {
        let p = Params::parse("service=checkout+api&name=GET%20%2Fusers&since=&bad=%zz&x");
        assert_eq!(p.get("service"), "checkout api");
        assert_eq!(p.get("name"), "GET /users");
        assert_eq!(p.opt("since"), None);
        assert_eq!(p.get("bad"), "%zz");
        assert_eq!(p.get("x"), "");
        assert_eq!(url_decode("%e2%9c%93"), "✓");
        assert_eq!(url_decode("100%"), "100%");
        assert!(p.count("limit", 50, 500).is_ok());
        assert!(Params::parse("limit=0").count("limit", 50, 500).is_err());
    }
}

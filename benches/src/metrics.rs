//! [`metric_value`]: reads one sample out of a Prometheus text exposition page.

/// The value of the first sample named `name` whose label set contains every `key="value"` of
/// `labels` (an empty slice matches any labels). `None` when no sample matches.
pub fn metric_value(page: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (label_text, value) = match rest.strip_prefix('{') {
                Some(r) => {
                    let (l, v) = r.split_once('}')?;
                    (l, v)
                }
                None if rest.starts_with(' ') => ("", rest),
                None => return None,
            };
            let matches = labels.iter().all(|(k, v)| {
                label_text
                    .split(',')
                    .any(|pair| pair.trim() == format!("{k}=\"{v}\""))
            });
            if !matches {
                return None;
            }
            value.split_whitespace().next()?.parse().ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_sample_with_matching_labels() {
        let page = "# HELP x_total X.\n# TYPE x_total counter\n\
                    x_total{signal=\"metrics\"} 3\nx_total{signal=\"traces\"} 1024\n\
                    x_total_other 7\ny 2.5\n";
        let check = |name, labels: &[(&str, &str)], expected| {
            assert_eq!(
                metric_value(page, name, labels),
                expected,
                "{name} {labels:?}"
            )
        };
        check("x_total", &[("signal", "traces")], Some(1024.0));
        check("x_total", &[], Some(3.0));
        check("x_total", &[("signal", "logs")], None);
        check("y", &[], Some(2.5));
        check("z", &[], None);
    }
}

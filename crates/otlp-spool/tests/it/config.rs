//! Configuration: precedence, defaults, and errors that name the key.

use std::collections::HashMap;
use std::time::Duration;

use otlp_spool::config::{
    Config, ConfigError, FileCompression, FileFormat, ForwardProtocol, Overrides,
};

fn load(
    yaml: Option<&str>,
    env: &[(&str, &str)],
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = overrides;
    if let Some(yaml) = yaml {
        let path = dir.path().join("otlp-spool.yaml");
        std::fs::write(&path, yaml).unwrap();
        overrides.config_file = Some(path);
    }
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_from(&overrides, |k| env.get(k).cloned())
}

fn error(yaml: &str) -> String {
    load(Some(yaml), &[], Overrides::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.output_dir.to_str(), Some("./otlp-spool-data"));
    assert_eq!(c.grpc_addr.to_string(), "127.0.0.1:4317");
    assert_eq!(c.http_addr.to_string(), "127.0.0.1:4318");
    assert_eq!(c.receiver.max_body_size.0, 20 << 20);
    assert_eq!(c.receiver.max_decoded_size.0, 64 << 20);
    assert_eq!(c.storage.format, FileFormat::Arrow);
    assert_eq!(c.storage.compression, FileCompression::Zstd);
    assert!(c.forward.is_none());
}

#[test]
fn flags_beat_environment_beat_file() {
    let yaml = "output_dir: /from/file\ngrpc_addr: 127.0.0.1:1111\nhttp_addr: 127.0.0.1:2222\n";
    let env = [
        ("OTLP_SPOOL_GRPC_ADDR", "127.0.0.1:3333"),
        ("OTLP_SPOOL_HTTP_ADDR", "127.0.0.1:4444"),
    ];
    let flags = Overrides {
        http_addr: Some("127.0.0.1:5555".into()),
        ..Overrides::default()
    };
    let c = load(Some(yaml), &env, flags).unwrap();
    assert_eq!(c.output_dir.to_str(), Some("/from/file")); // file only
    assert_eq!(c.grpc_addr.port(), 3333); // env over file
    assert_eq!(c.http_addr.port(), 5555); // flag over env
}

#[test]
fn forward_section_parses_with_units_and_auth() {
    let yaml = r#"
forward:
  endpoint: http://127.0.0.1:14317
  protocol: http/json
  headers: { x-tenant: acme, x-api-token: hunter2 }
  auth: { basic: { username: u, password: p4ss } }
  retry: { max_attempts: 7, initial_backoff: 100ms, max_backoff: 2s }
  breaker: { failure_threshold: 3, open_duration: 5s }
"#;
    let c = load(Some(yaml), &[], Overrides::default()).unwrap();
    let f = c.forward.as_ref().unwrap();
    assert_eq!(f.protocol, ForwardProtocol::HttpJson);
    assert_eq!(f.retry.max_attempts, Some(7));
    assert_eq!(f.retry.initial_backoff.0, Duration::from_millis(100));
    assert_eq!(f.breaker.open_duration.0, Duration::from_secs(5));
    assert_eq!(f.auth.basic.as_ref().unwrap().password.expose(), "p4ss");
    let printed = c.to_redacted_yaml();
    assert!(!printed.contains("p4ss"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
    // Every header value is redacted, whatever its name; the names stay.
    assert!(!printed.contains("acme"), "{printed}");
    assert!(printed.contains("x-tenant"), "{printed}");
    let debug = format!("{c:?}");
    assert!(!debug.contains("p4ss") && !debug.contains("acme") && !debug.contains("hunter2"));
}

#[test]
fn header_values_and_url_userinfo_are_never_printed() {
    let yaml = r#"
forward:
  endpoint: https://apiuser:s3cr3tpw@api.honeycomb.example:443
  headers: { x-honeycomb-team: hcteamkey123, x-honeycomb-dataset: traces-prod }
"#;
    let c = load(Some(yaml), &[], Overrides::default()).unwrap();
    for shown in [c.to_redacted_yaml(), format!("{c:?}")] {
        for secret in ["hcteamkey123", "traces-prod", "s3cr3tpw", "apiuser"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("https://***@api.honeycomb.example:443"),
            "{shown}"
        );
        assert!(shown.contains("x-honeycomb-team"), "{shown}");
    }
    // The value itself is still what is sent.
    let f = c.forward.unwrap();
    assert_eq!(f.headers["x-honeycomb-team"], "hcteamkey123");
    assert!(f.endpoint.contains("s3cr3tpw"));
    // An error about the endpoint does not print it either.
    let e = error("forward:\n  endpoint: ftp://u:pw123@x\n");
    assert!(
        e.contains("forward.endpoint") && !e.contains("pw123"),
        "{e}"
    );
}

#[test]
fn receiver_hygiene_keys_and_shutdown_timeout_have_documented_defaults() {
    let c = load(None, &[], Overrides::default()).unwrap();
    let r = &c.receiver;
    assert_eq!(r.read_header_timeout.0, Duration::from_secs(10));
    assert_eq!(r.read_timeout.0, Duration::from_secs(30));
    assert_eq!(r.idle_timeout.0, Duration::from_secs(60));
    assert_eq!(r.tls_handshake_timeout.0, Duration::from_secs(10));
    assert_eq!(r.max_connections, 4096);
    assert_eq!(r.max_concurrent_streams, 100);
    assert_eq!(r.keepalive.time.0, Duration::from_secs(30));
    assert_eq!(r.keepalive.timeout.0, Duration::from_secs(20));
    assert_eq!(r.backpressure_wait.0, Duration::from_millis(100));
    assert_eq!(c.shutdown_timeout.0, Duration::from_secs(30));

    let c = load(
        Some("receiver:\n  backpressure_wait: 0s\n"),
        &[],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        c.receiver.backpressure_wait.0,
        Duration::ZERO,
        "0s refuses at once"
    );
    let yaml = "shutdown_timeout: 5s\nreceiver:\n  read_header_timeout: 2s\n  read_timeout: 3s\n  idle_timeout: 4s\n  tls_handshake_timeout: 1s\n  max_connections: 10\n  max_concurrent_streams: 5\n  keepalive: { time: 7s, timeout: 8s }\n";
    let c = load(Some(yaml), &[], Overrides::default()).unwrap();
    assert_eq!(c.receiver.read_timeout.0, Duration::from_secs(3));
    assert_eq!(c.receiver.keepalive.timeout.0, Duration::from_secs(8));
    assert_eq!(c.shutdown_timeout.0, Duration::from_secs(5));
    // Environment over file, flag over environment.
    let env = [("OTLP_SPOOL_SHUTDOWN_TIMEOUT", "6s")];
    let c = load(Some(yaml), &env, Overrides::default()).unwrap();
    assert_eq!(c.shutdown_timeout.0, Duration::from_secs(6));
    let flags = Overrides {
        shutdown_timeout: Some("9s".into()),
        ..Overrides::default()
    };
    let c = load(Some(yaml), &env, flags).unwrap();
    assert_eq!(c.shutdown_timeout.0, Duration::from_secs(9));
    let e = load(
        None,
        &[("OTLP_SPOOL_SHUTDOWN_TIMEOUT", "soon")],
        Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("shutdown_timeout") && e.contains("OTLP_SPOOL_SHUTDOWN_TIMEOUT"),
        "{e}"
    );
}

#[test]
fn bad_hygiene_values_are_named() {
    for (yaml, key) in [
        (
            "receiver:\n  read_header_timeout: 0s\n",
            "receiver.read_header_timeout",
        ),
        ("receiver:\n  read_timeout: 0ms\n", "receiver.read_timeout"),
        (
            "receiver:\n  idle_timeout: forever\n",
            "receiver.idle_timeout",
        ),
        (
            "receiver:\n  tls_handshake_timeout: 0s\n",
            "receiver.tls_handshake_timeout",
        ),
        (
            "receiver:\n  max_connections: 0\n",
            "receiver.max_connections",
        ),
        (
            "receiver:\n  max_concurrent_streams: 0\n",
            "receiver.max_concurrent_streams",
        ),
        (
            "receiver:\n  keepalive: { time: 0s }\n",
            "receiver.keepalive.time",
        ),
        (
            "receiver:\n  keepalive: { tiem: 1s }\n",
            "receiver.keepalive",
        ),
        (
            "receiver:\n  backpressure_wait: 11s\n",
            "receiver.backpressure_wait",
        ),
        (
            "receiver:\n  backpressure_wait: later\n",
            "receiver.backpressure_wait",
        ),
        ("shutdown_timeout: 0s\n", "shutdown_timeout"),
    ] {
        let e = error(yaml);
        assert!(e.contains(key), "error for {yaml:?} should name {key}: {e}");
    }
}

#[test]
fn forward_endpoint_from_the_environment_enables_forwarding() {
    let env = [
        ("OTLP_SPOOL_FORWARD_ENDPOINT", "http://127.0.0.1:9"),
        ("OTLP_SPOOL_FORWARD_PROTOCOL", "http/protobuf"),
    ];
    let c = load(None, &env, Overrides::default()).unwrap();
    let f = c.forward.unwrap();
    assert_eq!(f.endpoint, "http://127.0.0.1:9");
    assert_eq!(f.protocol, ForwardProtocol::HttpProtobuf);
}

#[test]
fn unknown_keys_are_named() {
    let e = error("outptu_dir: x\n");
    assert!(e.contains("outptu_dir"), "{e}");
    let e = error("forward:\n  endpoint: http://a:1\n  retry:\n    max_attempt: 3\n");
    assert!(e.contains("forward.retry"), "{e}");
    assert!(e.contains("max_attempt"), "{e}");
}

#[test]
fn bad_values_are_named() {
    for (yaml, key) in [
        ("buffer:\n  max_bytes: 0\n", "buffer.max_bytes"),
        (
            "buffer:\n  max_batch_age: 5 weeks\n",
            "buffer.max_batch_age",
        ),
        (
            "receiver:\n  max_body_size: lots\n",
            "receiver.max_body_size",
        ),
        (
            "receiver:\n  max_decoded_size: 0\n",
            "receiver.max_decoded_size",
        ),
        (
            "receiver:\n  max_body_size: 32MiB\n  max_body_buffer: 16MiB\n",
            "receiver.max_body_buffer",
        ),
        (
            "receiver:\n  max_decoded_size: huge\n",
            "receiver.max_decoded_size",
        ),
        ("storage:\n  format: csv\n", "storage.format"),
        ("grpc_addr: localhost\n", "grpc_addr"),
        ("forward:\n  endpoint: ftp://x\n", "forward.endpoint"),
        (
            "forward:\n  endpoint: http://x:1\n  protocol: grpcc\n",
            "forward.protocol",
        ),
        (
            "forward:\n  endpoint: http://x:1\n  retry: { max_attempts: 0 }\n",
            "forward.retry.max_attempts",
        ),
        (
            "forward:\n  endpoint: http://x:1\n  breaker: { half_open_probes: 0 }\n",
            "forward.breaker.half_open_probes",
        ),
        // Refused by the breaker's and the forwarder's builders (checked once, there), at load
        // time and under the key.
        (
            "forward:\n  endpoint: http://x:1\n  breaker: { failure_threshold: 4000000000 }\n",
            "forward.breaker.failure_threshold",
        ),
        ("forward:\n  endpoint: http://\n", "forward.endpoint"),
        (
            "forward:\n  endpoint: http://x:1\n  queue_size: 0\n",
            "forward.queue_size",
        ),
        (
            "forward:\n  endpoint: http://x:1\n  retry: { initial_backoff: 2s, max_backoff: 1s }\n",
            "forward.retry.max_backoff",
        ),
        (
            "forward:\n  endpoint: http://x:1\n  auth: { bearer_token: a, basic: { username: u, password: p } }\n",
            "forward.auth",
        ),
        (
            "receiver:\n  tls: { cert_file: /nonexistent.pem, key_file: /nonexistent.key }\n",
            "receiver.tls.cert_file",
        ),
    ] {
        let e = error(yaml);
        assert!(e.contains(key), "error for {yaml:?} should name {key}: {e}");
    }
}

#[test]
fn bad_environment_and_flag_values_say_where_they_came_from() {
    let e = load(
        None,
        &[("OTLP_SPOOL_GRPC_ADDR", "nope")],
        Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("grpc_addr") && e.contains("OTLP_SPOOL_GRPC_ADDR"),
        "{e}"
    );
    let flags = Overrides {
        forward_protocol: Some("http/protobuf".into()),
        ..Overrides::default()
    };
    let e = load(None, &[], flags).unwrap_err().to_string();
    assert!(
        e.contains("forward.protocol") && e.contains("--forward-protocol"),
        "{e}"
    );
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let flags = Overrides {
        config_file: Some("/definitely/not/here.yaml".into()),
        ..Overrides::default()
    };
    let e = Config::load_from(&flags, |_| None).unwrap_err().to_string();
    assert!(
        e.contains("/definitely/not/here.yaml") && e.contains("--config"),
        "{e}"
    );
}

#[test]
fn printed_config_parses_back_to_the_same_config_without_secrets() {
    let yaml = "forward:\n  endpoint: http://127.0.0.1:1\n  auth: { bearer_token: s3cr3t }\n";
    let c = load(Some(yaml), &[], Overrides::default()).unwrap();
    let printed = c.to_redacted_yaml();
    let back = Config::from_yaml(&printed).unwrap();
    assert_eq!(
        back.forward.as_ref().unwrap().endpoint,
        "http://127.0.0.1:1"
    );
    assert_eq!(
        back.forward.unwrap().auth.bearer_token.unwrap().expose(),
        "<redacted>"
    );
}

#[test]
fn durability_and_the_wal_section_follow_precedence_and_name_their_keys() {
    use otlp_spool::config::Durability;
    let c = load(None, &[], Overrides::default()).unwrap();
    assert_eq!(c.durability, Durability::Memory);
    assert_eq!(c.wal.max_bytes.0, 1 << 30);
    assert_eq!(c.wal.segment_bytes.0, 64 << 20);
    assert_eq!(c.wal.group_commit_max_delay.0, Duration::from_millis(1));
    assert_eq!(c.wal.group_commit_max_bytes.0, 1 << 20);
    let yaml = "durability: wal\nwal: { max_bytes: 8MiB, segment_bytes: 1MiB, group_commit_max_delay: 0s }\n";
    let c = load(Some(yaml), &[], Overrides::default()).unwrap();
    assert_eq!(
        (c.durability, c.wal.max_bytes.0),
        (Durability::Wal, 8 << 20)
    );
    assert_eq!(c.wal.group_commit_max_delay.0, Duration::ZERO);
    let env = [("OTLP_SPOOL_DURABILITY", "memory")];
    let c = load(Some(yaml), &env, Overrides::default()).unwrap();
    assert_eq!(
        c.durability,
        Durability::Memory,
        "environment beats the file"
    );
    let flags = Overrides {
        durability: Some("wal".into()),
        ..Overrides::default()
    };
    assert_eq!(load(None, &env, flags).unwrap().durability, Durability::Wal);
    let e = load(
        None,
        &[("OTLP_SPOOL_DURABILITY", "disk")],
        Overrides::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("`durability` (from OTLP_SPOOL_DURABILITY)"),
        "{e}"
    );
    let e = error("durability: fsync\n");
    assert!(e.contains("durability"), "{e}");
    let e = error("wal: { max_bytes: 1MiB, segment_bytes: 1MiB }\n");
    assert!(e.contains("`wal.max_bytes`") && e.contains("twice"), "{e}");
    let e = error("wal: { segment_bytes: 1KiB }\n");
    assert!(e.contains("`wal.segment_bytes`"), "{e}");
    let e = error("wal: { group_commit_max_delay: 2s }\n");
    assert!(e.contains("`wal.group_commit_max_delay`"), "{e}");
    let e = error("wal: { fsync: always }\n");
    assert!(e.contains("wal"), "{e}");
    let printed = load(Some(yaml), &[], Overrides::default())
        .unwrap()
        .to_redacted_yaml();
    assert!(
        printed.contains("durability: wal") && printed.contains("segment_bytes"),
        "{printed}"
    );
}

//! The binary's start-up contract: effective config printing, and errors that name the key and
//! happen before any port is bound.

use std::process::Command;

use crate::support::binary;

fn serve(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(binary())
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn print_config_shows_the_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(
        &file,
        "receiver:\n  bearer_token: t0ps3cret\nforward:\n  endpoint: http://127.0.0.1:9\n  auth: { api_key: { value: k3y } }\n",
    )
    .unwrap();
    let (code, out, err) = serve(
        &[
            "--config",
            file.to_str().unwrap(),
            "--grpc-addr",
            "127.0.0.1:7000",
            "--print-config",
        ],
        &[("OTLP_SPOOL_HTTP_ADDR", "127.0.0.1:7001")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("grpc_addr: 127.0.0.1:7000"), "{out}");
    assert!(out.contains("http_addr: 127.0.0.1:7001"), "{out}");
    assert!(out.contains("endpoint: http://127.0.0.1:9"), "{out}");
    assert!(!out.contains("t0ps3cret") && !out.contains("k3y"), "{out}");

    // Every forward header value and the endpoint's userinfo, whatever the names.
    std::fs::write(
        &file,
        "forward:\n  endpoint: http://bob:pa55w0rd@127.0.0.1:9\n  headers: { x-honeycomb-team: hc4pik3y }\n",
    )
    .unwrap();
    let (code, out, err) = serve(&["--config", file.to_str().unwrap(), "--print-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("hc4pik3y") && !out.contains("pa55w0rd"),
        "{out}"
    );
    assert!(out.contains("http://***@127.0.0.1:9"), "{out}");
}

#[test]
fn help_documents_the_exit_codes_and_usage_errors_exit_1() {
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let out = Command::new(binary()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Exit codes:"), "{text}");
        for code in ["0 ", "1 ", "2 ", "130", "143"] {
            assert!(text.contains(&format!("  {code}")), "{code} in {text}");
        }
        assert!(
            !args.contains(&"serve") || text.contains("--shutdown-timeout"),
            "{text}"
        );
    }
    let (code, _, err) = serve(&["--no-such-flag"], &[]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn bad_config_exits_1_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "storage:\n  rotate_size: 12 parsecs\n").unwrap();
    let (code, _, err) = serve(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("storage.rotate_size"), "{err}");
    assert!(!err.contains("listening"), "{err}");

    let (code, _, err) = serve(&["--grpc-addr", "not-an-address"], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("grpc_addr") && err.contains("--grpc-addr"),
        "{err}"
    );

    std::fs::write(&file, "recever: {}\n").unwrap();
    let (code, _, err) = serve(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("recever"), "{err}");
}

#[test]
fn an_unusable_output_dir_fails_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let (code, _, err) = serve(
        &[
            "--output-dir",
            not_a_dir.to_str().unwrap(),
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("output_dir"), "{err}");
    assert!(!err.contains("listening"), "{err}");
}

#[test]
fn a_second_instance_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = crate::support::Server::start(dir.path(), &[]);
    let (code, _, err) = serve(
        &[
            "--output-dir",
            dir.path().to_str().unwrap(),
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("output_dir") && err.to_lowercase().contains("lock"),
        "{err}"
    );
    assert!(first.terminate().success());
}

#[test]
fn a_port_in_use_is_a_clear_error_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = serve(
        &[
            "--output-dir",
            dir.path().to_str().unwrap(),
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            &addr,
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&addr), "the error names the address: {err}");
    for signal in ["traces", "metrics", "logs"] {
        let (_, tmp) = crate::support::files(dir.path(), signal);
        assert!(tmp.is_empty(), "{tmp:?}");
    }
}

//! `load_config`: YAML file, then layers of keys, then the output directory.

use std::path::Path;

use otlp_spool::config::{ByteSize, FileCompression};
use otlp_spool_python::{ConfigLoadError, load_config};

fn layer(json: &str) -> Vec<String> {
    vec![json.to_string()]
}

#[test]
fn no_file_and_no_layers_is_the_default_configuration_in_the_given_dir() {
    let config = load_config(Path::new("/tmp/x"), None, &[]).unwrap();
    assert_eq!(config.output_dir, Path::new("/tmp/x"));
    assert_eq!(config.buffer, Default::default());
}

#[test]
fn layers_merge_key_by_key_over_the_file_and_the_output_dir_wins() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(
        &file,
        "output_dir: /elsewhere\nbuffer: { max_bytes: 8MiB, max_batch_bytes: 1MiB }\nstorage: { compression: lz4 }\n",
    )
    .unwrap();
    let layers = vec![
        r#"{"buffer": {"max_batch_bytes": "2MiB"}}"#.to_string(),
        r#"{"storage": {"compression": "zstd"}}"#.to_string(),
    ];
    let config = load_config(dir.path(), Some(&file), &layers).unwrap();
    assert_eq!(config.output_dir, dir.path());
    assert_eq!(
        config.buffer.max_bytes,
        ByteSize(8 << 20),
        "kept from the file"
    );
    assert_eq!(
        config.buffer.max_batch_bytes,
        ByteSize(2 << 20),
        "layer wins"
    );
    assert_eq!(config.storage.compression, FileCompression::Zstd);
}

#[test]
fn null_removes_a_key_back_to_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "forward: { endpoint: 'http://127.0.0.1:1' }\n").unwrap();
    let with = load_config(dir.path(), Some(&file), &[]).unwrap();
    assert!(with.forward.is_some());
    let without = load_config(dir.path(), Some(&file), &layer(r#"{"forward": null}"#)).unwrap();
    assert!(without.forward.is_none());
}

#[test]
fn errors_name_the_key() {
    let err = load_config(Path::new("d"), None, &layer(r#"{"bufer": {}}"#)).unwrap_err();
    assert!(matches!(err, ConfigLoadError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("bufer"), "{err}");

    let err = load_config(
        Path::new("d"),
        None,
        &layer(r#"{"storage": {"rotate_size": "12 parsecs"}}"#),
    )
    .unwrap_err();
    assert!(err.to_string().contains("storage.rotate_size"), "{err}");

    let err = load_config(
        Path::new("d"),
        None,
        &layer(r#"{"buffer": {"max_bytes": "1KiB"}}"#),
    )
    .unwrap_err();
    assert!(err.to_string().contains("buffer.max_batch_bytes"), "{err}");
}

#[test]
fn a_missing_file_or_a_layer_that_is_not_a_mapping_is_refused() {
    let err = load_config(Path::new("d"), Some(Path::new("/no/such.yaml")), &[]).unwrap_err();
    assert!(matches!(err, ConfigLoadError::File { .. }), "{err:?}");
    assert!(err.to_string().contains("/no/such.yaml"), "{err}");
    let err = load_config(Path::new("d"), None, &layer("[1, 2]")).unwrap_err();
    assert!(matches!(err, ConfigLoadError::Overrides(_)), "{err:?}");
}

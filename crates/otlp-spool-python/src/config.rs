//! The Python `Spool(output_dir, config=..., **overrides)` arguments turned into the facade's
//! [`Config`].
//!
//! Invariants: the result has passed [`Config::validate`]; layers are merged key by key
//! (mappings recursively, anything else replaced, null removes a key), YAML file first, then
//! the layers of keys (`config=` as a mapping, then `**overrides`), then `output_dir`; every error names the key, as `otlp-spool serve` does. Nothing is opened or
//! created here.

use std::path::{Path, PathBuf};

use otlp_spool::config::{Config, ConfigError};
use serde_norway::Value;

/// Why the configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    /// The YAML file could not be read or parsed.
    #[error("config file {path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// The overrides were not a mapping of configuration keys.
    #[error("config overrides: {0}")]
    Overrides(String),
    /// A key or value was refused (the message names the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Builds the configuration: `file` (YAML, optional), then each of `layers` (JSON objects
/// with the YAML keys) merged over it in order, then `output_dir`.
pub fn load_config(
    output_dir: &Path,
    file: Option<&Path>,
    layers: &[String],
) -> Result<Config, ConfigLoadError> {
    let mut merged = Value::Mapping(Default::default());
    if let Some(path) = file {
        let file_error = |problem: String| ConfigLoadError::File {
            path: path.to_path_buf(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        if !text.trim().is_empty() {
            let value: Value =
                serde_norway::from_str(&text).map_err(|e| file_error(e.to_string()))?;
            merge(&mut merged, value);
        }
    }
    for json in layers {
        let value: Value =
            serde_norway::from_str(json).map_err(|e| ConfigLoadError::Overrides(e.to_string()))?;
        if !matches!(value, Value::Mapping(_) | Value::Null) {
            return Err(ConfigLoadError::Overrides(
                "expected a mapping of configuration keys".into(),
            ));
        }
        merge(&mut merged, value);
    }
    let text =
        serde_norway::to_string(&merged).map_err(|e| ConfigLoadError::Overrides(e.to_string()))?;
    let mut config = Config::from_yaml(&text)?;
    config.output_dir = output_dir.to_path_buf();
    config.validate()?;
    Ok(config)
}

/// Merges `top` into `base`: mappings key by key (recursively), anything else replaced. A key
/// whose value in `top` is null is removed (back to its default).
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Mapping(base), Value::Mapping(top)) => {
            for (key, value) in top {
                if value.is_null() {
                    base.remove(&key);
                    continue;
                }
                match base.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (_, Value::Null) => {}
        (base, top) => *base = top,
    }
}

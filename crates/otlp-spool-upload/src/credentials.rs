//! Where the uploader's AWS credentials come from: the standard environment variables, else
//! a profile of the shared files (`~/.aws/credentials`, `~/.aws/config`), else what
//! object_store finds itself (web identity, container or instance credentials).
//!
//! Invariants: a secret never reaches a log line, a `Debug` rendering or an error message
//! (only the *source* is logged: "environment", "profile prod", ...); an explicitly named
//! profile that does not exist is an error, never a silent fall-through to other credentials.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use object_store::aws::AmazonS3ConfigKey;

use crate::error::StartError;

/// The credential source of an uploader.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Environment { profile: Option<String> },
    Static { key_id: String, secret: String },
}

impl Credentials {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), else the profile
    /// `AWS_PROFILE` (default `default`) of `AWS_SHARED_CREDENTIALS_FILE` (default
    /// `~/.aws/credentials`) and `AWS_CONFIG_FILE` (default `~/.aws/config`), else web
    /// identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`), container or instance
    /// credentials.
    pub fn from_environment() -> Self {
        Self(Source::Environment { profile: None })
    }

    /// Like [`from_environment`](Self::from_environment), but with the named profile instead
    /// of `AWS_PROFILE`; the profile must exist unless the keys are in the environment.
    pub fn profile(name: impl Into<String>) -> Self {
        Self(Source::Environment {
            profile: Some(name.into()),
        })
    }

    /// Fixed keys (embedded use and tests).
    pub fn static_keys(key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Self(Source::Static {
            key_id: key_id.into(),
            secret: secret.into(),
        })
    }

    /// Resolves the credentials and the region against an environment (`env` reads a
    /// variable). `region` is the configured one, if any.
    pub(crate) fn resolve(
        &self,
        region: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, StartError> {
        let env_region = || {
            env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .filter(|r| !r.is_empty())
        };
        let profile_name = match &self.0 {
            Source::Static { key_id, secret } => {
                return Ok(Resolved {
                    keys: Some(Keys {
                        key_id: key_id.clone(),
                        secret: secret.clone(),
                        token: None,
                    }),
                    passthrough: Vec::new(),
                    region: region.map(str::to_owned).or_else(env_region),
                    source: "static keys".to_owned(),
                });
            }
            Source::Environment { profile } => profile.clone(),
        };
        let explicit = profile_name.clone().or_else(|| env("AWS_PROFILE"));
        let name = explicit.clone().unwrap_or_else(|| "default".to_owned());
        let home = env("HOME").map(PathBuf::from);
        let file = |var: &str, default: &str| {
            env(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
        };
        let profile = Profile::load(
            &name,
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials").as_deref(),
            file("AWS_CONFIG_FILE", "config").as_deref(),
        )?;
        let region = region
            .map(str::to_owned)
            .or_else(env_region)
            .or_else(|| profile.as_ref().and_then(|p| p.get("region")));

        match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(key_id), Some(secret)) => {
                return Ok(Resolved {
                    keys: Some(Keys {
                        key_id,
                        secret,
                        token: env("AWS_SESSION_TOKEN"),
                    }),
                    passthrough: Vec::new(),
                    region,
                    source: "environment".to_owned(),
                });
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(StartError::Credentials(
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together".into(),
                ));
            }
            (None, None) => {}
        }
        match profile {
            Some(p) => {
                let keys = match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
                    (Some(key_id), Some(secret)) => Some(Keys {
                        key_id,
                        secret,
                        token: p.get("aws_session_token"),
                    }),
                    (None, None) => None,
                    _ => {
                        return Err(StartError::Credentials(format!(
                            "profile `{name}` has only one of aws_access_key_id and \
                             aws_secret_access_key"
                        )));
                    }
                };
                if let Some(keys) = keys {
                    return Ok(Resolved {
                        keys: Some(keys),
                        passthrough: Vec::new(),
                        region,
                        source: format!("profile {name}"),
                    });
                }
            }
            None if explicit.is_some() => {
                return Err(StartError::Credentials(format!(
                    "profile `{name}` is in neither the shared credentials nor the config file"
                )));
            }
            None => {}
        }
        // Let object_store find web identity, container or instance credentials.
        let passthrough: Vec<(AmazonS3ConfigKey, String)> = [
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                AmazonS3ConfigKey::WebIdentityTokenFile,
            ),
            ("AWS_ROLE_ARN", AmazonS3ConfigKey::RoleArn),
            ("AWS_ROLE_SESSION_NAME", AmazonS3ConfigKey::RoleSessionName),
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                AmazonS3ConfigKey::ContainerCredentialsRelativeUri,
            ),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                AmazonS3ConfigKey::ContainerCredentialsFullUri,
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                AmazonS3ConfigKey::ContainerAuthorizationTokenFile,
            ),
        ]
        .into_iter()
        .filter_map(|(var, key)| env(var).map(|v| (key, v)))
        .collect();
        let source = if passthrough.is_empty() {
            "instance metadata".to_owned()
        } else {
            "web identity / container".to_owned()
        };
        Ok(Resolved {
            keys: None,
            passthrough,
            region,
            source,
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Environment { profile } => f
                .debug_struct("Credentials::Environment")
                .field("profile", profile)
                .finish(),
            Source::Static { key_id, .. } => f
                .debug_struct("Credentials::Static")
                .field("key_id", key_id)
                .field("secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Access keys, never printed.
pub(crate) struct Keys {
    pub(crate) key_id: String,
    pub(crate) secret: String,
    pub(crate) token: Option<String>,
}

/// What [`Credentials::resolve`] found.
pub(crate) struct Resolved {
    pub(crate) keys: Option<Keys>,
    /// Settings object_store resolves itself (web identity, container credentials).
    pub(crate) passthrough: Vec<(AmazonS3ConfigKey, String)>,
    pub(crate) region: Option<String>,
    /// Where they came from, for the start-up log line.
    pub(crate) source: String,
}

impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("key_id", &self.keys.as_ref().map(|k| &k.key_id))
            .field("region", &self.region)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// One profile's settings, merged from the credentials file (`[name]`) and the config file
/// (`[profile name]`, or `[default]`); the credentials file wins.
struct Profile(HashMap<String, String>);

impl Profile {
    fn load(
        name: &str,
        credentials: Option<&std::path::Path>,
        config: Option<&std::path::Path>,
    ) -> Result<Option<Profile>, StartError> {
        let config_section = if name == "default" {
            "default".to_owned()
        } else {
            format!("profile {name}")
        };
        let mut found: Option<HashMap<String, String>> = None;
        for (path, section) in [(config, config_section.as_str()), (credentials, name)] {
            let Some(path) = path else { continue };
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StartError::Credentials(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            };
            if let Some(values) = ini_section(&text, section) {
                found.get_or_insert_with(HashMap::new).extend(values);
            }
        }
        Ok(found.map(Profile))
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }
}

/// The `key = value` pairs of `[section]` in an INI text, if the section exists.
fn ini_section(text: &str, section: &str) -> Option<HashMap<String, String>> {
    let mut current: Option<bool> = None;
    let mut values: Option<HashMap<String, String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let here = name.trim() == section;
            if here {
                values.get_or_insert_with(HashMap::new);
            }
            current = Some(here);
            continue;
        }
        if current == Some(true)
            && let Some((k, v)) = line.split_once('=')
            && let Some(values) = values.as_mut()
        {
            values.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn environment_keys_win() {
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("AWS_REGION", "eu-west-1"),
            ("HOME", "/nonexistent"),
        ]);
        let r = Credentials::from_environment().resolve(None, &env).unwrap();
        let keys = r.keys.unwrap();
        assert_eq!(
            (keys.key_id.as_str(), keys.secret.as_str()),
            ("AKID", "s3cr3t")
        );
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.source, "environment");
        let half = env_of(&[("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(
            Credentials::from_environment()
                .resolve(None, &half)
                .is_err()
        );
    }

    #[test]
    fn profiles_from_the_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "# comment\n[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n\
             [prod]\naws_access_key_id=P\naws_secret_access_key=PS\naws_session_token = T\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[default]\nregion = us-west-2\n[profile prod]\nregion=eu-central-1\n",
        )
        .unwrap();
        let home = dir.path().to_str().unwrap();
        let env = env_of(&[("HOME", home)]);
        let r = Credentials::from_environment().resolve(None, &env).unwrap();
        assert_eq!(r.keys.as_ref().unwrap().key_id, "D");
        assert_eq!(r.region.as_deref(), Some("us-west-2"));
        let env = env_of(&[("HOME", home), ("AWS_PROFILE", "prod")]);
        let r = Credentials::from_environment().resolve(None, &env).unwrap();
        let keys = r.keys.unwrap();
        assert_eq!(
            (keys.key_id.as_str(), keys.token.as_deref()),
            ("P", Some("T"))
        );
        assert_eq!(r.region.as_deref(), Some("eu-central-1"));
        assert_eq!(r.source, "profile prod");
        // A configured region wins over the profile's.
        let r = Credentials::profile("prod")
            .resolve(Some("ap-south-1"), &env_of(&[("HOME", home)]))
            .unwrap();
        assert_eq!(r.region.as_deref(), Some("ap-south-1"));
        // A named profile that does not exist is an error; a missing default is not.
        let err = Credentials::profile("nope")
            .resolve(None, &env_of(&[("HOME", home)]))
            .unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        let r = Credentials::from_environment()
            .resolve(None, &env_of(&[("HOME", "/nonexistent")]))
            .unwrap();
        assert!(r.keys.is_none());
        assert_eq!(r.source, "instance metadata");
    }

    #[test]
    fn secrets_are_not_printed() {
        let text = format!("{:?}", Credentials::static_keys("AKID", "s3cr3t"));
        assert!(!text.contains("s3cr3t"), "{text}");
        let err = Credentials::from_environment()
            .resolve(None, &env_of(&[("AWS_SECRET_ACCESS_KEY", "s3cr3t")]))
            .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"));
    }
}

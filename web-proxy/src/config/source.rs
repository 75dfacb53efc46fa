//! Where the settings come from: the environment, over a TOML file's values.

use std::collections::HashMap;

use shared::config::{ConfigError, Source, Var};

use super::PREFIX;

pub(super) const VARS: &[Var] = &[Var::new(
    "WEB_PROXY_CONFIG",
    "unset",
    "A TOML file of these settings (the environment wins)",
)];

/// The environment over a TOML file's values.
pub struct Layered {
    file: HashMap<String, String>,
}

impl Layered {
    /// Reads `WEB_PROXY_CONFIG` if set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = format!("{PREFIX}CONFIG");
        let file = match std::env::var(&var) {
            Ok(path) if !path.trim().is_empty() => {
                let text = std::fs::read_to_string(path.trim())
                    .map_err(|e| ConfigError::new(&var, format!("cannot read {path}: {e}")))?;
                parse_toml(&text).map_err(|e| ConfigError::new(&var, format!("{path}: {e}")))?
            }
            _ => HashMap::new(),
        };
        Ok(Self { file })
    }
}

impl Source for Layered {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.file.get(name).cloned())
    }
}

/// Flattens a TOML document into `WEB_PROXY_*` settings; arrays become comma lists.
pub fn parse_toml(text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let mut out = HashMap::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(format!("{key}: array items must be strings, got {other}")),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => return Err(format!("{key}: unsupported value {other}")),
        };
        out.insert(format!("{PREFIX}{}", key.to_ascii_uppercase()), text);
    }
    Ok(out)
}

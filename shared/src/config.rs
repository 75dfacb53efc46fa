//! Reading typed settings from the environment.
//!
//! Settings are read through the [`Source`] trait rather than `std::env` directly, so the
//! parsing of every binary's configuration can be unit-tested with a `HashMap` instead of
//! mutating the process environment (which is shared by all tests of a binary).

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

/// Where settings come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for HashMap<&str, &str> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).map(|v| (*v).to_owned())
    }
}

/// A setting that is missing or does not parse. The message always names the variable,
/// so a misconfigured container says exactly what to fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &str, problem: impl Display) -> Self {
        Self {
            var: var.to_owned(),
            problem: problem.to_string(),
        }
    }
}

/// Typed access to a [`Source`]. Empty values count as unset, as they do for most tools:
/// `FOO=` in an env file means "use the default".
pub struct Settings<'a> {
    source: &'a dyn Source,
}

impl<'a> Settings<'a> {
    pub fn new(source: &'a dyn Source) -> Self {
        Self { source }
    }

    pub fn raw(&self, var: &str) -> Option<String> {
        self.source
            .get(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required_string(&self, var: &str) -> Result<String, ConfigError> {
        self.raw(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    pub fn string_or(&self, var: &str, default: &str) -> String {
        self.raw(var).unwrap_or_else(|| default.to_owned())
    }

    pub fn parse_or<T>(&self, var: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| ConfigError::new(var, format!("invalid value {v:?}: {e}"))),
        }
    }

    pub fn parse_opt<T>(&self, var: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.raw(var) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| ConfigError::new(var, format!("invalid value {v:?}: {e}"))),
        }
    }

    pub fn bool_or(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) => match v.as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(
                    var,
                    format!("invalid value {v:?}: expected true or false"),
                )),
            },
        }
    }

    pub fn duration_or(&self, var: &str, default: Duration) -> Result<Duration, ConfigError> {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => parse_duration(&v).map_err(|e| ConfigError::new(var, e)),
        }
    }
}

/// Parses `250ms`, `5s`, `2m`, `1h`, or a bare number of seconds (`30`, `0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 250ms, 5s, 2m"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(value * scale)
        .map_err(|e| format!("invalid duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn durations_accept_common_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn errors_name_the_variable() {
        let env = settings(&[("UPBRELLA_PORT", "eighty")]);
        let s = Settings::new(&env);
        let err = s.parse_or::<u16>("UPBRELLA_PORT", 8080).unwrap_err();
        assert!(err.to_string().contains("UPBRELLA_PORT"), "{err}");
        let err = s.required_string("DATABASE_URL").unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
    }

    #[test]
    fn empty_values_fall_back_to_defaults() {
        let env = settings(&[("A", ""), ("B", " on ")]);
        let s = Settings::new(&env);
        assert_eq!(s.string_or("A", "dflt"), "dflt");
        assert!(s.bool_or("B", false).unwrap());
        assert!(s.bool_or("C", true).unwrap());
    }
}

/// One environment variable a binary reads, as `--help` lists it. Each binary keeps one
/// table of them beside the code that reads them; its tests check that the configuration
/// reads nothing the table does not list, and that README.md documents the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// The default as a person would say it ("30s", "required", "unset").
    pub default: &'static str,
    pub meaning: &'static str,
}

impl Var {
    pub const fn new(name: &'static str, default: &'static str, meaning: &'static str) -> Self {
        Self {
            name,
            default,
            meaning,
        }
    }
}

/// The length of several tables together, for [`concat_vars`].
pub const fn vars_len(tables: &[&[Var]]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < tables.len() {
        n += tables[i].len();
        i += 1;
    }
    n
}

/// Several tables as one, at compile time, so that each module of a configuration keeps
/// its own variables beside the code that reads them and the binary still has one table:
/// `const ALL: [Var; vars_len(T)] = concat_vars(T);`.
pub const fn concat_vars<const N: usize>(tables: &[&[Var]]) -> [Var; N] {
    let mut out = [Var::new("", "", ""); N];
    let (mut i, mut k) = (0, 0);
    while i < tables.len() {
        let mut j = 0;
        while j < tables[i].len() {
            out[k] = tables[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "N must be vars_len of the same tables");
    out
}

/// The table as `--help` text: one variable per line, its meaning and default.
pub fn vars_help(title: &str, vars: &[Var]) -> String {
    let width = vars.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = format!("{title}:\n");
    for v in vars {
        out.push_str(&format!(
            "  {:width$}  {} [default: {}]\n",
            v.name, v.meaning, v.default
        ));
    }
    out
}

/// Set variables that look like ours (one of `prefixes`) but are not in the table: a
/// typo such as `WEB_PROXY_UPSTREAM` would otherwise be silently ignored.
pub fn unknown_vars<'a>(
    set: impl IntoIterator<Item = &'a str>,
    prefixes: &[&str],
    vars: &[Var],
) -> Vec<String> {
    set.into_iter()
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .filter(|name| !vars.iter().any(|v| v.name == *name))
        .map(str::to_owned)
        .collect()
}

/// A [`Source`] that remembers every name asked of it: tests use it to show that a
/// configuration reads only variables its table lists.
pub struct Recording<'a> {
    inner: &'a dyn Source,
    asked: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Source) -> Self {
        Self {
            inner,
            asked: std::sync::Mutex::default(),
        }
    }

    pub fn asked(&self) -> std::collections::BTreeSet<String> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Source for Recording<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned());
        self.inner.get(name)
    }
}

/// The variable names of the markdown table that follows `heading` in `readme` (rows
/// like `` | `NAME` (or `OTHER`) | default | meaning | ``).
pub fn readme_table_names(readme: &str, heading: &str) -> Vec<String> {
    let Some(start) = readme.find(heading) else {
        return Vec::new();
    };
    readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| Variable"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            let first = row.split(" | ").next().unwrap_or_default();
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether README.md's table after `heading` documents exactly the variables of `vars`;
/// the error names what is missing on either side.
pub fn readme_documents(readme: &str, heading: &str, vars: &[Var]) -> Result<(), String> {
    let documented = readme_table_names(readme, heading);
    let undocumented: Vec<&str> = vars
        .iter()
        .map(|v| v.name)
        .filter(|name| !documented.iter().any(|d| d == name))
        .collect();
    let unknown: Vec<&String> = documented
        .iter()
        .filter(|d| !vars.iter().any(|v| v.name == d.as_str()))
        .collect();
    if undocumented.is_empty() && unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "README.md {heading}: not documented {undocumented:?}; documented but not read {unknown:?}"
        ))
    }
}

/// Compares the variables a configuration asked for with its table: the ones it read
/// that the table does not list, and the table's ones it never read (in table order).
pub fn against_table<'a>(
    asked: &std::collections::BTreeSet<String>,
    vars: &'a [Var],
) -> (Vec<String>, Vec<&'a str>) {
    let unlisted = asked
        .iter()
        .filter(|n| !vars.iter().any(|v| v.name == n.as_str()))
        .cloned()
        .collect();
    let unread = vars
        .iter()
        .map(|v| v.name)
        .filter(|n| !asked.contains(*n))
        .collect();
    (unlisted, unread)
}

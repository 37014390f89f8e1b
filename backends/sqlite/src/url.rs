//! Parsing `sqlite:` URLs into [`SqliteConnectOptions`]. The path is read by hand (a URL
//! library would take `sqlite://data/app.db` to name a host `data`); the options come from
//! [`DatabaseUrl::query_pairs`].

use std::time::Duration;

use txkit_core::{DatabaseUrl, ENGINE_URL_KEYS, Error, Result};

use crate::options::{Execution, JournalMode, OpenMode, SqliteConnectOptions, Synchronous};

/// The URL query keys this backend reads.
pub const URL_KEYS: &[&str] = &[
    "busy_timeout",
    "journal_mode",
    "synchronous",
    "foreign_keys",
    "mode",
    "execution",
];

/// The largest busy_timeout SQLite accepts, in milliseconds.
pub(crate) const MAX_BUSY_TIMEOUT_MS: u64 = i32::MAX as u64;

/// The URL forms, for error messages.
const FORMS: &str = "sqlite://relative/path.db, sqlite:///absolute/path.db, sqlite:path.db \
                     or sqlite::memory:";

/// Parses `url` (scheme `sqlite`).
pub(crate) fn parse(url: &DatabaseUrl) -> Result<SqliteConnectOptions> {
    if url.scheme() != "sqlite" {
        return Err(Error::config(format!(
            "{} is not a SQLite URL; use {FORMS}",
            url.redacted()
        )));
    }
    let raw = url.expose();
    // DatabaseUrl::parse guarantees a ':' after the scheme.
    let after_scheme = raw.split_once(':').map_or("", |(_, rest)| rest);
    let location = after_scheme
        .split_once('?')
        .map_or(after_scheme, |(path, _)| path);
    let location = location.strip_prefix("//").unwrap_or(location);
    // `sqlite://user:password@host/path`: SQLite takes no credentials, and the text would
    // otherwise be read as a relative path and echoed, password included, in errors.
    let first = location.split('/').next().unwrap_or("");
    if first.contains('@') && first.contains(':') {
        return Err(Error::config(format!(
            "SQLite URL {} has a user and password, which SQLite does not use; use {FORMS}",
            url.redacted()
        )));
    }
    let mut opts = match location {
        ":memory:" => SqliteConnectOptions::memory(),
        "" => {
            return Err(Error::config(format!(
                "SQLite URL {} names no database; use {FORMS}",
                url.redacted()
            )));
        }
        path => SqliteConnectOptions::new(url.decode(path, "the path")?),
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in url.query_pairs()? {
        if ENGINE_URL_KEYS.contains(&key.as_str()) {
            continue;
        }
        if seen.contains(&key) {
            return Err(Error::config(format!(
                "option {key:?} is given more than once in SQLite URL {}; give it once",
                url.redacted()
            )));
        }
        opts = apply(opts, &key, value.trim(), url)?;
        seen.push(key);
    }
    Ok(opts)
}

/// Applies one `key=value` option.
fn apply(
    opts: SqliteConnectOptions,
    key: &str,
    value: &str,
    url: &DatabaseUrl,
) -> Result<SqliteConnectOptions> {
    let opts = match key {
        "busy_timeout" => opts.busy_timeout(parse_busy_timeout(value)?),
        "journal_mode" => opts.journal_mode(pick(key, value, &JournalMode::ALL, |m| m.as_str())?),
        "synchronous" => opts.synchronous(pick(key, value, &Synchronous::ALL, |s| s.as_str())?),
        "foreign_keys" => opts.foreign_keys(parse_bool(key, value)?),
        "mode" => opts.mode(pick(key, value, &OpenMode::ALL, |m| m.as_str())?),
        "execution" => opts.execution(pick(key, value, &Execution::ALL, |e| e.as_str())?),
        _ => {
            return Err(Error::config(format!(
                "unknown option {key:?} in SQLite URL {}; accepted: {}, and the engine's {}",
                url.redacted(),
                URL_KEYS.join(", "),
                ENGINE_URL_KEYS.join(", ")
            )));
        }
    };
    Ok(opts)
}

fn parse_busy_timeout(value: &str) -> Result<Duration> {
    match value.parse::<u64>() {
        Ok(ms) if ms <= MAX_BUSY_TIMEOUT_MS => Ok(Duration::from_millis(ms)),
        _ => Err(Error::config(format!(
            "busy_timeout={value:?} is not valid; give a whole number of milliseconds from 0 \
             to {MAX_BUSY_TIMEOUT_MS} (e.g. busy_timeout=5000)"
        ))),
    }
}

/// Picks the variant whose name is `value` (any case), or a Config error listing the names.
fn pick<T: Copy>(key: &str, value: &str, all: &[T], name: impl Fn(T) -> &'static str) -> Result<T> {
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(value))
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            Error::config(format!(
                "{key}={value:?} is not valid; accepted: {}",
                names.join(", ")
            ))
        })
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Ok(true),
        "false" | "off" | "0" | "no" => Ok(false),
        _ => Err(Error::config(format!(
            "{key}={value:?} is not valid; accepted: true, false, on, off, 1, 0, yes, no"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use txkit_core::ErrorKind;

    use super::*;
    use crate::options::Target;

    fn opts(text: &str) -> Result<SqliteConnectOptions> {
        SqliteConnectOptions::from_url(&DatabaseUrl::parse(text)?)
    }

    fn path_of(text: &str) -> String {
        let o = opts(text).unwrap();
        o.filename().unwrap().to_str().unwrap().to_owned()
    }

    fn config_error(text: &str) -> String {
        let e = opts(text).expect_err(text);
        assert_eq!(e.kind(), ErrorKind::Config, "{text}: {e}");
        e.to_string()
    }

    #[test]
    fn every_path_form() {
        assert_eq!(path_of("sqlite://relative/path.db"), "relative/path.db");
        assert_eq!(path_of("sqlite:///absolute/path.db"), "/absolute/path.db");
        assert_eq!(path_of("sqlite:path.db"), "path.db");
        assert_eq!(path_of("sqlite:/abs.db"), "/abs.db");
        assert_eq!(path_of("sqlite://app.db?mode=rw"), "app.db");
        assert_eq!(path_of("SQLite://data/app.db"), "data/app.db");
        assert_eq!(path_of("sqlite://my%20dir/a%3Fb.db"), "my dir/a?b.db");
        assert_eq!(path_of("sqlite://100%.db"), "100%.db");
        for memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite::memory:?busy_timeout=1",
        ] {
            let o = opts(memory).unwrap();
            assert!(o.is_memory(), "{memory}");
            assert_eq!(o.target, Target::Memory);
        }
    }

    #[test]
    fn no_path_or_wrong_scheme() {
        for text in ["sqlite://", "sqlite:", "sqlite:?mode=rw"] {
            assert!(config_error(text).contains("names no database"), "{text}");
        }
        assert!(config_error("postgres://h/db").contains("not a SQLite URL"));
        assert!(config_error("sqlite://%FF.db").contains("UTF-8"));
    }

    #[test]
    fn every_option() {
        let o = opts(
            "sqlite://a.db?busy_timeout=250&journal_mode=TRUNCATE&synchronous=extra\
             &foreign_keys=off&mode=rw",
        )
        .unwrap();
        assert_eq!(o.busy_timeout, Duration::from_millis(250));
        assert_eq!(o.journal_mode, Some(JournalMode::Truncate));
        assert_eq!(o.synchronous, Some(Synchronous::Extra));
        assert!(!o.foreign_keys);
        assert_eq!(o.mode, OpenMode::ReadWrite);
        assert_eq!(o.filename(), Some(Path::new("a.db")));

        for mode in JournalMode::ALL {
            let o = opts(&format!("sqlite://a.db?journal_mode={}", mode.as_str())).unwrap();
            assert_eq!(o.journal_mode, Some(mode));
        }
        for level in Synchronous::ALL {
            let o = opts(&format!("sqlite://a.db?synchronous={}", level.as_str())).unwrap();
            assert_eq!(o.synchronous, Some(level));
        }
        for mode in OpenMode::ALL {
            let o = opts(&format!("sqlite://a.db?mode={}", mode.as_str())).unwrap();
            assert_eq!(o.mode, mode);
        }
        for (text, on) in [("true", true), ("1", true), ("ON", true), ("no", false)] {
            let o = opts(&format!("sqlite://a.db?foreign_keys={text}")).unwrap();
            assert_eq!(o.foreign_keys, on, "{text}");
        }
        let o = opts("sqlite://a.db?busy_timeout=0").unwrap();
        assert_eq!(o.busy_timeout, Duration::ZERO);
        for execution in Execution::ALL {
            let o = opts(&format!("sqlite://a.db?execution={}", execution.as_str())).unwrap();
            assert_eq!(o.execution, execution);
        }
    }

    #[test]
    fn defaults_from_url() {
        let o = opts("sqlite://a.db").unwrap();
        assert_eq!(o, SqliteConnectOptions::new("a.db"));
        assert_eq!(o.busy_timeout, Duration::from_millis(5000));
        assert_eq!(o.effective_journal_mode(), Some(JournalMode::Wal));
        assert_eq!(o.effective_synchronous(), Synchronous::Normal);
        assert!(o.foreign_keys);
        assert_eq!(o.mode, OpenMode::ReadWriteCreate);
    }

    #[test]
    fn engine_keys_are_skipped() {
        let o = opts("sqlite://a.db?pool_size=4&isolation=serializable&busy_timeout=9").unwrap();
        assert_eq!(o.busy_timeout, Duration::from_millis(9));
        for key in ENGINE_URL_KEYS {
            opts(&format!("sqlite://a.db?{key}=x")).unwrap();
        }
    }

    #[test]
    fn unknown_key_lists_accepted_keys() {
        let text = config_error("sqlite://a.db?busy_timout=5");
        assert!(text.contains("busy_timout"), "{text}");
        for key in URL_KEYS {
            assert!(text.contains(key), "{text}");
        }
        assert!(text.contains("pool_size"), "{text}");
    }

    #[test]
    fn bad_values_name_accepted_values() {
        for (text, expect) in [
            ("sqlite://a.db?busy_timeout=fast", "milliseconds"),
            ("sqlite://a.db?busy_timeout=-1", "milliseconds"),
            ("sqlite://a.db?busy_timeout=1.5", "milliseconds"),
            ("sqlite://a.db?busy_timeout=99999999999", "2147483647"),
            (
                "sqlite://a.db?journal_mode=wal2",
                "delete, truncate, persist, memory, wal, off",
            ),
            ("sqlite://a.db?synchronous=fast", "off, normal, full, extra"),
            ("sqlite://a.db?foreign_keys=maybe", "true, false"),
            ("sqlite://a.db?mode=memory", "rwc, rw, ro"),
            ("sqlite://a.db?execution=async", "thread, inline"),
            ("sqlite://a.db?mode=ro&mode=rw", "more than once"),
        ] {
            let msg = config_error(text);
            assert!(msg.contains(expect), "{text}: {msg}");
        }
    }
}

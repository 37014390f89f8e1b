//! Database URLs, with the password kept out of every printed form.

use std::fmt;

use crate::error::{Error, Result};

/// A secret (a password): usable by the code that needs it, printed as `***` everywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for handing to a driver. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A database URL as given by the user. `Debug` and `Display` show it with any password
/// (in the user-info part or a `password=` query parameter) replaced by `***`.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: Secret,
    scheme: String,
    redacted: String,
}

impl DatabaseUrl {
    /// Splits off the scheme; a URL without one is a Config error naming the schemes txkit
    /// accepts.
    pub fn parse(text: &str) -> Result<Self> {
        let redacted = redact(text);
        let scheme = match text.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
            {
                scheme.to_ascii_lowercase()
            }
            _ => {
                return Err(Error::config(format!(
                    "database URL {redacted:?} has no scheme; use sqlite://path/to/file.db, \
                     sqlite::memory:, postgres://user@host/db or mysql://user@host/db"
                )));
            }
        };
        Ok(Self {
            raw: Secret::new(text),
            scheme,
            redacted,
        })
    }

    /// The scheme, lower-cased: `sqlite`, `postgres`, `mysql`, ….
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The URL with any password replaced by `***`: safe to print.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The URL as given, password included: only for handing to a driver.
    pub fn expose(&self) -> &str {
        self.raw.expose()
    }

    /// Parses the URL as a hierarchical URL (`scheme://user:pass@host:port/db?k=v`), for the
    /// server backends. Errors never contain the password.
    pub fn to_url(&self) -> Result<url::Url> {
        url::Url::parse(self.raw.expose()).map_err(|e| {
            Error::config(format!(
                "could not parse database URL {:?}: {e}; expected \
                 scheme://user:password@host:port/database?option=value",
                self.redacted
            ))
        })
    }

    /// The `key=value` pairs of the query string, each side [decoded](Self::decode): a
    /// `+` stays a `+` (write a space as `%20`) and a `#` is part of the value, as libpq
    /// reads a URL, on every backend.
    /// An error if a name or value is not UTF-8 once decoded; it never quotes the value.
    pub fn query_pairs(&self) -> Result<Vec<(String, String)>> {
        let Some((_, query)) = self.raw.expose().split_once('?') else {
            return Ok(Vec::new());
        };
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let key = self.decode_or(k, || "an option name".to_owned())?;
                let value = self.decode_or(v, || format!("the value of option {key:?}"))?;
                Ok((key, value))
            })
            .collect()
    }

    /// Decodes the `%XX` escapes of one part of this URL (`what` names it for the error: a
    /// user name, a path). A `%` not followed by two hex digits stays as it is. The only
    /// rule txkit's backends decode a URL by.
    pub fn decode(&self, text: &str, what: &str) -> Result<String> {
        self.decode_or(text, || what.to_owned())
    }

    /// [`decode`](Self::decode), naming the part only when it fails.
    fn decode_or(&self, text: &str, what: impl FnOnce() -> String) -> Result<String> {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| {
                Error::config(format!(
                    "{} in {} is not valid UTF-8 once its %-escapes are decoded",
                    what(),
                    self.redacted
                ))
            })
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted).finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// `text` with the password of its user-info part and the values of `password=` /
/// `pass=` / `pwd=` query parameters replaced by `***`. Works on text that does not parse.
pub fn redact(text: &str) -> String {
    let (head, query) = match text.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (text, None),
    };
    let mut out = String::with_capacity(text.len());
    match head.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            // The authority ends at the first '/'; user-info ends at its last '@'.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        // Not hierarchical: keep the scheme and the host, hide anything that could be
        // user-info.
        None => match head.rsplit_once('@') {
            Some((before, host)) => {
                out.push_str(before.split(':').next().unwrap_or_default());
                out.push_str(":***@");
                out.push_str(host);
            }
            None => out.push_str(head),
        },
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Whether `key`, as written in a URL, names a password once decoded (`pass%77ord` is read
/// as `password`, so it must be hidden as one).
fn is_secret_key(key: &str) -> bool {
    let key = percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    matches!(
        key.as_str(),
        "password" | "pass" | "pwd" | "passwd" | "sslpassword"
    )
}

/// Query-string keys the engine reads (pool and transaction defaults). Backends skip these
/// and refuse any other key they do not know, so a misspelt option is an error rather than
/// silently ignored.
pub const ENGINE_URL_KEYS: &[&str] = &[
    "pool_kind",
    "pool_size",
    "max_overflow",
    "pool_timeout",
    "pool_recycle",
    "pool_pre_ping",
    "pre_ping_idle",
    "pool_order",
    "reset_on_return",
    "idle_timeout",
    "min_idle",
    "leak_threshold",
    "isolation",
];

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "S3ntinel-Pw";

    #[test]
    fn password_never_printed() {
        for text in [
            format!("postgres://alice:{SENTINEL}@db.local:5432/app"),
            format!("mysql://bob:{SENTINEL}@h/db?x=1"),
            format!("postgres://h/db?password={SENTINEL}&sslmode=disable"),
            format!("postgres://u:{SENTINEL}@h"),
            format!("postgres://u:{}@h/db", "S3ntinel%2DPw"),
            format!("not a url :{SENTINEL}@"),
        ] {
            let r = redact(&text);
            assert!(!r.contains("S3ntinel"), "{r}");
            if let Ok(url) = DatabaseUrl::parse(&text) {
                assert!(!format!("{url:?} {url}").contains("S3ntinel"));
                if let Err(e) = url.to_url() {
                    assert!(!format!("{e} {e:?}").contains("S3ntinel"));
                }
            }
        }
    }

    #[test]
    fn no_scheme_is_config_error() {
        let e = DatabaseUrl::parse("just/a/path.db").expect_err("no scheme");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.to_string().contains("sqlite://"));
    }

    #[test]
    fn query_pairs_decode() {
        let url =
            DatabaseUrl::parse("sqlite://x.db?busy_timeout=250&journal_mode=wal").expect("url");
        assert_eq!(url.scheme(), "sqlite");
        assert_eq!(
            url.query_pairs().expect("pairs"),
            vec![
                ("busy_timeout".to_owned(), "250".to_owned()),
                ("journal_mode".to_owned(), "wal".to_owned())
            ]
        );
    }

    #[test]
    fn one_decoding_rule_plus_stays_plus() {
        let url = DatabaseUrl::parse(
            "mysql://u:p%2Bq@h/db?application_name=a+b&options=-c%20x%3D1&flag&&k=%zz#frag",
        )
        .expect("url");
        assert_eq!(
            url.query_pairs().expect("pairs"),
            vec![
                ("application_name".to_owned(), "a+b".to_owned()),
                ("options".to_owned(), "-c x=1".to_owned()),
                ("flag".to_owned(), String::new()),
                ("k".to_owned(), "%zz#frag".to_owned()),
            ]
        );
        assert_eq!(
            url.decode("p%2Bq+r", "a password").expect("decoded"),
            "p+q+r"
        );
    }

    #[test]
    fn a_percent_encoded_password_key_is_hidden_too() {
        let url = DatabaseUrl::parse("mysql://u@h/db?pass%77ord=s3cret&PWD=x2").expect("url");
        assert_eq!(url.query_pairs().expect("pairs")[0].0, "password");
        let shown = format!("{url} {url:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("x2"),
            "{shown}"
        );
    }

    #[test]
    fn undecodable_option_names_it_without_the_value() {
        let url = DatabaseUrl::parse("mysql://u@h/db?password=s3cr%FFt").expect("url");
        let e = url.query_pairs().expect_err("not UTF-8");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        let text = e.to_string();
        assert!(
            text.contains("\"password\"") && !text.contains("s3cr"),
            "{text}"
        );
    }
}

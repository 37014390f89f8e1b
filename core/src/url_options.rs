//! The engine's own URL query options: pool settings and the default isolation level.

use std::time::Duration;

use crate::{DatabaseUrl, Error, PoolConfig, PoolKind, PoolOrder, ResetMode, Result, TxOptions};

/// What the URL's query string says about the pool and the transaction defaults.
pub struct UrlOptions {
    /// The pool settings.
    pub pool: PoolConfig,
    /// The transactions' default options.
    pub defaults: TxOptions,
    /// Whether the URL set the pool's size or kind explicitly.
    pub sized: bool,
}

/// Reads the engine's keys from `url`; backend keys are left to the backend.
pub fn parse_url_options(url: &DatabaseUrl) -> Result<UrlOptions> {
    let mut pool = PoolConfig::default();
    let mut defaults = TxOptions::new();
    let mut sized = false;
    for (key, value) in url.query_pairs()? {
        let v = value.to_ascii_lowercase();
        match key.as_str() {
            "pool_kind" => {
                pool.kind = match v.as_str() {
                    "queue" => PoolKind::Queue,
                    "null" => PoolKind::Null,
                    "static" => PoolKind::Static,
                    _ => return Err(bad_value(&key, &value, "queue, null, static")),
                };
                sized = true;
            }
            "pool_size" => {
                pool.size = number(&key, &value)?;
                sized = true;
            }
            "max_overflow" => pool.max_overflow = number(&key, &value)?,
            "min_idle" => pool.min_idle = number(&key, &value)?,
            "pool_timeout" => pool.timeout = seconds(&key, &value)?,
            "pool_recycle" => pool.recycle = Some(seconds(&key, &value)?),
            "idle_timeout" => pool.idle_timeout = Some(seconds(&key, &value)?),
            "leak_threshold" => pool.leak_threshold = Some(seconds(&key, &value)?),
            "pre_ping_idle" => pool.pre_ping_idle = seconds(&key, &value)?,
            "pool_pre_ping" => pool.pre_ping = boolean(&key, &value)?,
            "pool_order" => {
                pool.order = match v.as_str() {
                    "lifo" => PoolOrder::Lifo,
                    "fifo" => PoolOrder::Fifo,
                    _ => return Err(bad_value(&key, &value, "lifo, fifo")),
                }
            }
            "reset_on_return" => {
                pool.reset_on_return = match v.as_str() {
                    "rollback" => ResetMode::Rollback,
                    "none" => ResetMode::None,
                    "full" | "reset" => ResetMode::Full,
                    _ => return Err(bad_value(&key, &value, "rollback, none, full")),
                }
            }
            "isolation" => defaults = defaults.isolation(value.parse()?),
            _ => {}
        }
    }
    Ok(UrlOptions {
        pool,
        defaults,
        sized,
    })
}

fn bad_value(key: &str, value: &str, accepted: &str) -> Error {
    Error::config(format!(
        "URL option {key}={value:?} is not valid; accepted: {accepted}"
    ))
}

fn number(key: &str, value: &str) -> Result<usize> {
    value
        .parse()
        .map_err(|_| bad_value(key, value, "a whole number"))
}

fn seconds(key: &str, value: &str) -> Result<Duration> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| bad_value(key, value, "a number of seconds, such as 30 or 0.5"))
}

fn boolean(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(bad_value(key, value, "true, false")),
    }
}

//! Pool settings.

use std::time::Duration;

use crate::connection::ResetMode;

/// Which idle connection a checkout takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolOrder {
    /// The most recently returned (keeps a warm few busy and lets the rest age out).
    #[default]
    Lifo,
    /// The least recently returned (spreads use evenly).
    Fifo,
}

/// The settings of a [`Pool`](crate::Pool).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolConfig {
    /// How many connections the pool keeps (default 5).
    pub size: usize,
    /// How long a checkout waits for a free connection before PoolTimeout (default 30 s).
    pub timeout: Duration,
    /// How a returned connection is cleaned (default: roll back what is open).
    pub reset_on_return: ResetMode,
    /// How long cleaning a returned connection may take before it is closed instead.
    pub reset_timeout: Duration,
    /// Which idle connection a checkout takes.
    pub order: PoolOrder,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            size: 5,
            timeout: Duration::from_secs(30),
            reset_on_return: ResetMode::Rollback,
            reset_timeout: Duration::from_secs(5),
            order: PoolOrder::Lifo,
        }
    }
}

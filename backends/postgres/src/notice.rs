//! Server notices (`RAISE NOTICE`, the warnings PostgreSQL sends beside an answer) as
//! `tracing` events, the same from both drivers: WARNING at warn level, DEBUG at debug,
//! every other severity (NOTICE, INFO, LOG) at info. The events carry the server's
//! redacted target, the severity and the SQLSTATE.

/// One notice, as the server sent it.
pub(crate) struct Notice<'a> {
    /// The redacted target of the connection ([`crate::PgConnectOptions::display_target`]).
    pub(crate) server: &'a str,
    /// `WARNING`, `NOTICE`, `INFO`, `LOG` or `DEBUG` (the non-localized field when sent).
    pub(crate) severity: &'a str,
    /// The SQLSTATE (`01000` for a plain warning, `00000` for a notice).
    pub(crate) code: &'a str,
    /// The primary message.
    pub(crate) message: &'a str,
    /// The server's detail, if any.
    pub(crate) detail: Option<&'a str>,
    /// The server's hint, if any.
    pub(crate) hint: Option<&'a str>,
}

impl Notice<'_> {
    /// Emits the notice as a `tracing` event.
    pub(crate) fn log(&self) {
        let detail = self.detail.unwrap_or_default();
        let hint = self.hint.unwrap_or_default();
        let (server, severity, code, message) =
            (self.server, self.severity, self.code, self.message);
        match severity {
            "WARNING" => tracing::warn!(server, severity, code, detail, hint, "{message}"),
            "DEBUG" => tracing::debug!(server, severity, code, detail, hint, "{message}"),
            _ => tracing::info!(server, severity, code, detail, hint, "{message}"),
        }
    }
}

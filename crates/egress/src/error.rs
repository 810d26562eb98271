//! The errors of setting up a proxy. Refusals of single connections are not errors: they are
//! answered (403, 401) and reported as `network` events.

/// What went wrong setting up the egress proxy or its routes.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// An allow-list entry (`tasks.egress_allow`, `tasks.egress_registries`) does not parse.
    #[error("egress allow entry {entry:?}: {reason}")]
    InvalidEntry {
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A broker route is malformed (name, upstream URL, duplicate).
    #[error("broker route {name:?}: {reason}")]
    InvalidRoute {
        /// The route's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// This provider's key cannot be brokered; the reason says what would be needed.
    #[error("{provider} keys cannot be brokered: {reason}")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// Why, and what to do instead.
        reason: &'static str,
    },
    /// Binding or securing the unix socket failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

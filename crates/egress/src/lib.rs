//! Drydock's egress proxy: the only way out of a brokered sandbox (see `docs/egress.md`).
//!
//! One [`Proxy`] per run, on a unix socket the sandbox reaches through its relay. It serves:
//! - `CONNECT host:port` tunnels (what `HTTPS_PROXY` clients send) and absolute-form `http://`
//!   requests (`HTTP_PROXY`), both only to names the [`Policy`] allows and only to public
//!   addresses ([`classify()`]) unless the operator listed the endpoint exactly;
//! - broker routes in origin form, `/<route>/...` ([`Route`]): the run's placeholder is swapped
//!   for the real key and the request goes to the route's upstream, the answer streamed back;
//!   any other credential is refused with 401.
//!
//! Every connection and every broker request is reported as an
//! [`EventBody::Network`](shared::events::EventBody::Network) on the channel in
//! [`ProxyConfig::events`]. [`broker_model_key`], [`broker_copilot_token`] and [`broker_mcp`]
//! build the routes and what the agent is given instead of its secrets.

mod broker;
mod classify;
mod connect;
mod credentials;
mod error;
mod flow;
mod io;
mod policy;
mod proxy;
mod route;
mod scrub;
mod tunnel;

pub use classify::{classify, AddressClass, Embedding, Refusal};
pub use credentials::{
    broker_copilot_token, broker_mcp, broker_model_key, broker_url, default_upstream, placeholder,
    provider_route, BrokeredGithubToken, BrokeredKey, BrokeredMcp, COPILOT_GITHUB_ROUTE,
    DEFAULT_COPILOT_API,
};
pub use error::EgressError;
pub use policy::{AllowEntry, Policy, DEFAULT_REGISTRIES};
pub use proxy::{Proxy, ProxyConfig, ProxyHandle};
pub use route::{Credential, Route, Secret};

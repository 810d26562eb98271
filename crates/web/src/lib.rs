//! The Drydock single-page app: Yew + yew-router, talking to the API through gloo-net with the
//! DTOs of `shared`.
//!
//! Layout: `app` (routes and the signed-in shell), `pages/` (one per route), `components/`
//! (reusable pieces), `hooks/` (state and effects) and `services/` (HTTP, SSE, storage). Every
//! wire shape comes from `shared`, so the SPA decodes exactly what the API sends.

pub mod app;
pub mod components;
pub mod hooks;
pub mod layout;
pub mod pages;
pub mod services;
pub mod theme;
pub mod util;

/// Mounts the app on `<body>`.
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}

//! The Drydock single-page app: Yew + yew-router, talking to the API through gloo-net with the
//! DTOs of `shared`.
//!
//! Layout: `app` (routes and the signed-in shell), `pages/` (one per route), `components/`
//! (reusable pieces), `hooks/` (state and effects), `services/` (HTTP, SSE, storage) and
//! `types/` (wire shapes the API owns but `shared` does not define yet).

pub mod app;
pub mod components;
pub mod hooks;
pub mod pages;
pub mod services;
pub mod theme;
pub mod types;
pub mod util;

/// Mounts the app on `<body>`.
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}

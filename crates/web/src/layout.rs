//! The one layout breakpoint. Below it the sidebar overlays the page instead of sitting beside
//! it, and Enter in the prompt box is a newline (phones have no Ctrl+Enter). `static/style.css`
//! uses the same width (`@media (max-width: 899px)`): CSS cannot read a Rust constant, and
//! custom media queries are not supported by browsers yet.

/// Viewports narrower than this, in CSS pixels, get the phone layout.
pub const NARROW_PX: f64 = 900.0;

/// Whether the viewport is narrower than [`NARROW_PX`].
pub fn is_narrow() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|v| v.as_f64())
        .is_some_and(|w| w < NARROW_PX)
}

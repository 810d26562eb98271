//! The 404 page.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;

/// Shown for unknown paths.
#[component]
pub fn NotFound() -> Html {
    html! {
        <section class="card narrow" data-testid="not-found">
            <h1>{ "Page not found" }</h1>
            <Link<Route> to={Route::Home}>{ "Back to Drydock" }</Link<Route>>
        </section>
    }
}

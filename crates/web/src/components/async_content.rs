//! The one way loading and errors are shown: [`async_content`] for fetched data and
//! [`ErrorBox`] for any [`ApiError`] (problem details, field errors, request id).

use yew::prelude::*;

use crate::hooks::FetchState;
use crate::services::ApiError;

/// Renders `render(data)` when ready, a loading line while waiting, an [`ErrorBox`] on failure.
pub fn async_content<T>(state: &FetchState<T>, render: impl FnOnce(&T) -> Html) -> Html {
    match state {
        FetchState::Loading => loading(),
        FetchState::Ready(t) => render(t),
        FetchState::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
    }
}

/// The loading indicator: a skeleton of a few grey lines where the content will be (read as
/// "Loading…" by screen readers).
pub fn loading() -> Html {
    html! {
        <div class="loading skeleton" data-testid="loading" aria-busy="true">
            <span class="sr-only">{ "Loading…" }</span>
            <div class="skeleton-line" /><div class="skeleton-line" /><div class="skeleton-line short" />
        </div>
    }
}

/// Props of [`ErrorBox`].
#[derive(Properties, PartialEq)]
pub struct ErrorBoxProps {
    /// The error to show.
    pub error: ApiError,
}

/// An error with its detail, per-field reasons and request id.
#[component]
pub fn ErrorBox(props: &ErrorBoxProps) -> Html {
    let e = &props.error;
    let status = e.status().map(|s| s.to_string()).unwrap_or_default();
    html! {
        <div class="error-box" role="alert" data-testid="error" data-status={status}>
            <strong>{ e.message() }</strong>
            if let Some(p) = e.problem() {
                if !p.errors.is_empty() {
                    <ul class="field-errors">
                        { for p.errors.iter().map(|(field, reasons)| html! {
                            <li data-field={field.clone()}>{ format!("{field}: {}", reasons.join(", ")) }</li>
                        }) }
                    </ul>
                }
                if let Some(id) = &p.request_id {
                    <small class="muted">{ format!("Request id: {id}") }</small>
                }
            }
        </div>
    }
}

/// Shows an optional error (for forms).
pub fn maybe_error(err: &Option<ApiError>) -> Html {
    match err {
        Some(e) => html! { <ErrorBox error={e.clone()} /> },
        None => Html::default(),
    }
}

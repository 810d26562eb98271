//! Home: the new-task form.

use yew::prelude::*;

use crate::components::task_form::TaskForm;

/// The home page.
#[component]
pub fn Home() -> Html {
    html! {
        <section class="page home" data-testid="home">
            <h1>{ "New task" }</h1>
            <TaskForm />
        </section>
    }
}

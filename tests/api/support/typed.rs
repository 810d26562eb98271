//! A typed client: `TestApp` methods that speak the API's own `shared` DTOs, so tests read like
//! the API and a field the server stops sending fails to decode instead of reading as `null`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::agents::AgentInfo;
use shared::events::TaskEvent;
use shared::page::Page;
use shared::tasks::{CreateTask, Quota, Task};
use uuid::Uuid;

use super::TestApp;

impl TestApp {
    async fn typed<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder, status: u16) -> T {
        let res = req.send().await.expect("request");
        let got = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(got, status, "unexpected status; body: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    async fn get_as<T: DeserializeOwned>(&self, token: &str, path: &str) -> T {
        self.typed(self.client.get(self.url(path)).bearer_auth(token), 200).await
    }

    async fn post_as<T: DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
        body: &impl Serialize,
        status: u16,
    ) -> T {
        self.typed(self.client.post(self.url(path)).bearer_auth(token).json(body), status).await
    }

    /// `POST /api/v1/tasks`.
    pub async fn post_task(&self, token: &str, body: &CreateTask) -> Task {
        self.post_as(token, "/api/v1/tasks", body, 201).await
    }

    /// `GET /api/v1/tasks/{id}`.
    pub async fn get_task(&self, token: &str, id: Uuid) -> Task {
        self.get_as(token, &format!("/api/v1/tasks/{id}")).await
    }

    /// Polls `GET /api/v1/tasks/{id}` until `done`.
    pub async fn wait_task(
        &self,
        token: &str,
        id: Uuid,
        what: &str,
        done: impl Fn(&Task) -> bool,
    ) -> Task {
        let started = std::time::Instant::now();
        loop {
            let task = self.get_task(token, id).await;
            if done(&task) {
                return task;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "timed out waiting for {what}: {task:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `GET /api/v1/tasks/{id}/events`, every page.
    pub async fn task_events(&self, token: &str, id: Uuid) -> Vec<TaskEvent> {
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page: Page<TaskEvent> = self
                .get_as(token, &format!("/api/v1/tasks/{id}/events?after={after}&limit=1000"))
                .await;
            all.extend(page.items);
            match page.next_cursor {
                Some(cursor) => after = cursor.parse().expect("numeric cursor"),
                None => return all,
            }
        }
    }

    /// `GET /api/v1/agents`.
    pub async fn list_agents(&self, token: &str) -> Vec<AgentInfo> {
        self.get_as(token, "/api/v1/agents").await
    }

    /// `GET /api/v1/me/quota`.
    pub async fn get_quota(&self, token: &str) -> Quota {
        self.get_as(token, "/api/v1/me/quota").await
    }
}

/// A `CreateTask` for `repo_url` and `prompt` with the fake agent (`claude`) and defaults.
pub fn new_task(repo_url: &str, prompt: &str) -> CreateTask {
    serde_json::from_value(serde_json::json!({
        "repo_url": repo_url, "agent": "claude", "prompt": prompt
    }))
    .expect("a valid CreateTask")
}

//! Closing a pull or merge request from the repository browser's list, on any forge
//! (`/forges/{host}/repo/pulls/{number}/close`) and in the GitHub routes' shape
//! (`/github/repos/{owner}/{repo}/pulls/{number}/close`), through [`Forge::set_open`] as a
//! task's own pull request is closed. Tasks of the caller linked to it see the new state.

use actix_web::{post, web};
use shared::github::{PrStatus, PullRequest};

use super::endpoints::{forge_for, repo_path, RepoAt};
use super::{access, Forge, RepoPath};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Closes `number` unless it is merged (409) or closed already (answered as it is).
async fn close(
    state: &AppState,
    user: &CurrentUser,
    forge: &dyn Forge,
    repo: &RepoPath,
    number: i64,
) -> ApiResult<PullRequest> {
    let kind = forge.kind();
    let found = forge.pull(repo, number).await.map_err(|e| e.into_api(kind))?;
    let pr = match found.pr.status {
        PrStatus::Merged => {
            return Err(ApiError::Conflict(format!(
                "The {} {}{number} is merged; a merged one cannot be closed.",
                kind.request_noun(),
                kind.number_prefix()
            )))
        }
        PrStatus::Closed => found.pr,
        PrStatus::Open => {
            forge.set_open(repo, number, false).await.map_err(|e| e.into_api(kind))?
        }
    };
    let mut conn = state.conn().await?;
    for task_id in crate::repos::model::tasks_on_pull(&mut conn, user.id, &pr.url).await? {
        crate::github::model::save_pr(&mut conn, task_id, &pr).await?;
    }
    tracing::info!(user_id = %user.id, repo = %repo.as_str(), number, forge = kind.label(), "pull request closed from the repository list");
    Ok(pr)
}

/// Closes a pull or merge request of the repository without merging (one already closed is
/// answered as it is; a merged one is a 409).
#[utoipa::path(
    tag = "forges", operation_id = "close_forge_pull",
    params(("host" = String, Path, description = "The forge's host"), ("number" = i64, Path, description = "Pull or merge request number (GitLab: iid)"), RepoAt),
    responses(
        (status = 200, body = PullRequest), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem),
        (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/forges/{host}/repo/pulls/{number}/close")]
async fn close_forge_pull(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, i64)>,
    query: web::Query<RepoAt>,
) -> ApiResult<web::Json<PullRequest>> {
    let (host, number) = path.into_inner();
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, query.path())?;
    Ok(web::Json(close(&state, &user, &*forge, &repo, number).await?))
}

/// Closes a pull request of a GitHub repository without merging (one already closed is
/// answered as it is; a merged one is a 409).
#[utoipa::path(
    tag = "github", operation_id = "close_github_pull",
    params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), ("number" = i64, Path, description = "Pull request number")),
    responses(
        (status = 200, body = PullRequest), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 409, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/github/repos/{owner}/{repo}/pulls/{number}/close")]
async fn close_github_pull(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String, i64)>,
) -> ApiResult<web::Json<PullRequest>> {
    let (owner, name, number) = path.into_inner();
    let host = access::github_host(&state.settings).ok_or(ApiError::NotFound)?;
    let forge = forge_for(&state, &user, &host).await?;
    let repo =
        RepoPath::parse(forge.kind(), &format!("{owner}/{name}")).ok_or(ApiError::NotFound)?;
    Ok(web::Json(close(&state, &user, &*forge, &repo, number).await?))
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(close_forge_pull).service(close_github_pull);
}

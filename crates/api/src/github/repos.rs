//! `/api/v1/github/owners` and `/api/v1/github/repos...`: what the user can pick a repository
//! from, repository details, creation, and the recent commits, issues and pull requests.

use actix_web::{get, post, web, HttpResponse};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use shared::github::{CreateRepo, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo};
use shared::page::Page;
use utoipa::IntoParams;

use super::client::GithubClient;
use super::remote::{valid_name, RepoRef};
use super::service::client;
use super::wire;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::forges::github::GithubForge;
use crate::forges::{Forge, ForgeError, ForgeKind, Listing, RepoPath};
use crate::state::AppState;

/// Longest description GitHub accepts.
const DESCRIPTION_MAX: usize = 350;

async fn me(gh: &GithubClient) -> ApiResult<wire::Account> {
    Ok(gh.get("/user").await?)
}

/// The user's GitHub behind the forge trait, which holds the listing calls.
async fn forge(state: &AppState, user: &CurrentUser) -> ApiResult<GithubForge> {
    Ok(GithubForge::new(client(state, user.id).await?, &state.settings.github.web_url))
}

fn github_problem(err: ForgeError) -> ApiError {
    err.into_api(ForgeKind::Github)
}

/// Path parameters as a repository path, or a 404 for names GitHub cannot have.
fn repo_path(owner: &str, name: &str) -> ApiResult<RepoPath> {
    let repo = RepoRef::from_path(owner, name)?;
    RepoPath::parse(ForgeKind::Github, &repo.full_name()).ok_or(ApiError::NotFound)
}

/// The signed-in user and their organisations.
#[utoipa::path(
    tag = "github", operation_id = "list_github_owners",
    responses(
        (status = 200, body = Page<GithubOwner>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/owners")]
async fn list_owners(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> ApiResult<web::Json<Page<GithubOwner>>> {
    let items = forge(&state, &user).await?.owners().await.map_err(github_problem)?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Query of the repository list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RepoQuery {
    /// A user or organisation login; all repositories the user can push to when absent.
    owner: Option<String>,
    /// Only repositories whose name contains this.
    q: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 30).
    limit: Option<u32>,
}

fn limit(raw: Option<u32>) -> ApiResult<u32> {
    let limit = raw.unwrap_or(30);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid("limit", "must be between 1 and 100"))
    }
}

/// The GitHub page a cursor stands for. Cursors are page numbers: GitHub's own pagination,
/// never a URL, so clients cannot point the token anywhere.
fn page_of(cursor: Option<&str>) -> ApiResult<u32> {
    match cursor {
        None => Ok(1),
        Some(c) => c
            .parse::<u32>()
            .ok()
            .filter(|p| (2..=1000).contains(p))
            .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this server issued")),
    }
}

/// The user's repositories, or an owner's, searched by name, newest activity first.
#[utoipa::path(
    tag = "github", operation_id = "list_github_repos", params(RepoQuery),
    responses(
        (status = 200, body = Page<GithubRepo>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/repos")]
async fn list_repos(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<RepoQuery>,
) -> ApiResult<web::Json<Page<GithubRepo>>> {
    let per_page = limit(query.limit)?;
    let page = page_of(query.cursor.as_deref())?;
    if let Some(owner) = &query.owner {
        if !valid_name(owner) {
            return Err(ApiError::invalid("owner", "is not a GitHub login"));
        }
    }
    let listing = Listing {
        owner: query.owner.clone(),
        q: query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned),
        page,
        per_page,
    };
    let (items, more) =
        forge(&state, &user).await?.repos(&listing).await.map_err(github_problem)?;
    Ok(web::Json(Page { items, next_cursor: more.then(|| (page + 1).to_string()) }))
}

/// One repository: proves the user's token can see it and gives its default branch.
#[utoipa::path(
    tag = "github", operation_id = "get_github_repo",
    params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name (dots allowed)")),
    responses(
        (status = 200, body = GithubRepo), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/repos/{owner}/{repo}")]
async fn get_repo(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
) -> ApiResult<web::Json<GithubRepo>> {
    let repo = repo_path(&path.0, &path.1)?;
    Ok(web::Json(forge(&state, &user).await?.repo(&repo).await.map_err(github_problem)?))
}

fn check_create(body: &CreateRepo) -> ApiResult<Option<RepoRef>> {
    let mut errors = std::collections::BTreeMap::<String, Vec<String>>::new();
    if !valid_name(&body.name) {
        errors
            .entry("name".into())
            .or_default()
            .push("must be 1 to 100 letters, digits, '.', '_' or '-' (and not '.' or '..')".into());
    }
    if body.owner.as_deref().is_some_and(|o| !valid_name(o)) {
        errors.entry("owner".into()).or_default().push("is not a GitHub login".into());
    }
    if body.description.as_deref().is_some_and(|d| d.chars().count() > DESCRIPTION_MAX) {
        errors
            .entry("description".into())
            .or_default()
            .push(format!("must be at most {DESCRIPTION_MAX} characters"));
    }
    let template = match body.template.as_deref() {
        None => None,
        Some(t) => {
            let parsed = t.split_once('/').and_then(|(o, n)| RepoRef::from_path(o, n).ok());
            if parsed.is_none() {
                errors.entry("template".into()).or_default().push("must be `owner/name`".into());
            }
            parsed
        }
    };
    if errors.is_empty() {
        Ok(template)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Creates a repository for the user or one of their organisations, empty with a README or
/// generated from a template repository.
#[utoipa::path(
    tag = "github", operation_id = "create_github_repo", request_body = CreateRepo,
    responses(
        (status = 201, body = GithubRepo), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem),
        (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/github/repos")]
async fn create_repo(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<CreateRepo>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let template = check_create(&body)?;
    let gh = client(&state, user.id).await?;
    let created: wire::Repo = match (template, body.owner.as_deref()) {
        (Some(template), owner) => {
            let owner = match owner {
                Some(o) => o.to_owned(),
                None => me(&gh).await?.login,
            };
            let request = json!({"owner": owner, "name": body.name, "description": body.description, "private": body.private});
            gh.send_json(Method::POST, &format!("{}/generate", template.api_path()), &request)
                .await?
        }
        (None, owner) => {
            let request = json!({"name": body.name, "description": body.description, "private": body.private, "auto_init": true});
            let path = match owner {
                Some(org) => format!("/orgs/{org}/repos"),
                None => "/user/repos".to_owned(),
            };
            gh.send_json(Method::POST, &path, &request).await?
        }
    };
    tracing::info!(user_id = %user.id, repo = %created.full_name, "GitHub repository created");
    Ok(HttpResponse::Created().json(created.into_dto(&state.settings.github.web_url)))
}

/// Query of the recent-items lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// How many, 1 to 100 (default 30).
    limit: Option<u32>,
}

/// The repository's most recent commits on its default branch.
#[utoipa::path(
    tag = "github", operation_id = "list_github_commits", params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubCommit>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/repos/{owner}/{repo}/commits")]
async fn list_commits(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubCommit>>> {
    let repo = repo_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let items = forge(&state, &user).await?.commits(&repo, n).await.map_err(github_problem)?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The repository's most recently updated open issues (pull requests left out, so a page may
/// hold fewer than `limit`).
#[utoipa::path(
    tag = "github", operation_id = "list_github_issues", params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubIssue>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/repos/{owner}/{repo}/issues")]
async fn list_issues(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubIssue>>> {
    let repo = repo_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let items = forge(&state, &user).await?.issues(&repo, n).await.map_err(github_problem)?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The repository's most recently updated open pull requests.
#[utoipa::path(
    tag = "github", operation_id = "list_github_pulls", params(("owner" = String, Path, description = "Owner login"), ("repo" = String, Path, description = "Repository name"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubPull>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/github/repos/{owner}/{repo}/pulls")]
async fn list_pulls(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubPull>>> {
    let repo = repo_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let items = forge(&state, &user).await?.pulls(&repo, n).await.map_err(github_problem)?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Registers this module's routes.
pub(super) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_owners)
        .service(list_repos)
        .service(create_repo)
        .service(get_repo)
        .service(list_commits)
        .service(list_issues)
        .service(list_pulls);
}

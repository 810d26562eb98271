//! `/api/v1/github/owners` and `/api/v1/github/repos...`: what the user can pick a repository
//! from, repository details, creation, and the recent commits, issues and pull requests.

use actix_web::{get, post, web, HttpResponse};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use shared::github::{
    CreateRepo, GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo, OwnerKind,
};
use shared::page::Page;
use utoipa::IntoParams;

use super::client::{GithubClient, GithubError};
use super::remote::{valid_name, RepoRef};
use super::service::client;
use super::wire;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Organisations listed at most (100 per page).
const MAX_ORG_PAGES: usize = 5;
/// Longest description GitHub accepts.
const DESCRIPTION_MAX: usize = 350;

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn me(gh: &GithubClient) -> ApiResult<wire::Account> {
    Ok(gh.get("/user").await?)
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
    let gh = client(&state, user.id).await?;
    let mut items = vec![me(&gh).await?.owner(OwnerKind::User)];
    let orgs: Vec<wire::Account> = gh.get_all("/user/orgs?per_page=100", MAX_ORG_PAGES).await?;
    items.extend(orgs.into_iter().map(|o| o.owner(OwnerKind::Organization)));
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
    let gh = client(&state, user.id).await?;
    let paging = format!("per_page={per_page}&page={page}");
    let search = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let (repos, next) = match (search, query.owner.as_deref()) {
        (Some(q), owner) => {
            let owner = match owner {
                Some(o) => o.to_owned(),
                None => me(&gh).await?.login,
            };
            let terms = format!("{q} in:name user:{owner} fork:true");
            let (found, next): (wire::RepoSearch, _) = gh
                .get_page(&format!("/search/repositories?q={}&sort=updated&{paging}", encode(&terms)))
                .await?;
            (found.items, next)
        }
        (None, None) => {
            gh.get_page(&format!(
                "/user/repos?sort=updated&affiliation=owner,collaborator,organization_member&{paging}"
            ))
            .await?
        }
        (None, Some(owner)) if owner.eq_ignore_ascii_case(&me(&gh).await?.login) => {
            gh.get_page(&format!("/user/repos?sort=updated&affiliation=owner&{paging}")).await?
        }
        (None, Some(owner)) => {
            // Organisation first (includes private repositories the user can see), then user.
            match gh.get_page(&format!("/orgs/{owner}/repos?sort=updated&{paging}")).await {
                Err(GithubError::NotFound) => {
                    gh.get_page(&format!("/users/{owner}/repos?sort=updated&{paging}")).await?
                }
                other => other?,
            }
        }
    };
    let web_url = &state.settings.github.web_url;
    Ok(web::Json(Page {
        items: repos.into_iter().map(|r: wire::Repo| r.into_dto(web_url)).collect(),
        next_cursor: next.map(|_| (page + 1).to_string()),
    }))
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
    let repo = RepoRef::from_path(&path.0, &path.1)?;
    let gh = client(&state, user.id).await?;
    let found: wire::Repo = gh.get(&repo.api_path()).await?;
    Ok(web::Json(found.into_dto(&state.settings.github.web_url)))
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
    let repo = RepoRef::from_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let gh = client(&state, user.id).await?;
    let commits: Vec<wire::Commit> =
        gh.get(&format!("{}/commits?per_page={n}", repo.api_path())).await?;
    Ok(web::Json(Page {
        items: commits.into_iter().map(wire::Commit::into_dto).collect(),
        next_cursor: None,
    }))
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
    let repo = RepoRef::from_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let gh = client(&state, user.id).await?;
    let issues: Vec<wire::Issue> =
        gh.get(&format!("{}/issues?state=open&sort=updated&per_page={n}", repo.api_path())).await?;
    let items = issues
        .into_iter()
        .filter(|i| i.pull_request.is_none())
        .map(wire::Issue::into_dto)
        .collect();
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
    let repo = RepoRef::from_path(&path.0, &path.1)?;
    let n = limit(query.limit)?;
    let gh = client(&state, user.id).await?;
    let pulls: Vec<wire::Pull> = gh
        .get(&format!(
            "{}/pulls?state=open&sort=updated&direction=desc&per_page={n}",
            repo.api_path()
        ))
        .await?;
    Ok(web::Json(Page {
        items: pulls.into_iter().map(wire::Pull::into_dto).collect(),
        next_cursor: None,
    }))
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

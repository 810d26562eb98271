//! `/api/v1/forges/{host}/...`: the repository picker and browser on any forge the user has a
//! token for (GitHub, GitLab, Gitea), in the shapes of the `/github` routes so the web app's
//! components serve every forge. A repository is named by its `path` query parameter
//! (`owner/name`, or `group/sub/name` on GitLab): a query survives proxies that decode `%2F`.

use actix_web::{get, web};
use serde::Deserialize;
use shared::github::{GithubCommit, GithubIssue, GithubOwner, GithubPull, GithubRepo};
use shared::page::Page;
use utoipa::IntoParams;

use super::{access, Forge, Listing, RepoPath};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether `host` looks like `name` or `name:port`: the key tokens are stored under.
fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// The caller's forge for `host`.
pub(super) async fn forge_for(
    state: &AppState,
    user: &CurrentUser,
    host: &str,
) -> ApiResult<Box<dyn Forge>> {
    if !valid_host(host) {
        return Err(ApiError::NotFound);
    }
    let access = access::for_host(state, user.id, host).await?;
    access::client(state, &access)
}

/// A repository path of `forge`'s shape, or a 422 on `path`.
pub(super) fn repo_path(forge: &dyn Forge, raw: &str) -> ApiResult<RepoPath> {
    RepoPath::parse(forge.kind(), raw).ok_or_else(|| {
        ApiError::invalid(
            "path",
            "must be `owner/name` (GitLab: `group/subgroup/name`) of letters, digits, '.', '_' and '-'",
        )
    })
}

fn limit(raw: Option<u32>) -> ApiResult<u32> {
    let limit = raw.unwrap_or(30);
    if (1..=100).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid("limit", "must be between 1 and 100"))
    }
}

/// Cursors are page numbers, never a URL, so a client cannot point the token anywhere.
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

/// The token's user, then the organisations (GitLab: groups) they can work in.
#[utoipa::path(
    tag = "forges", operation_id = "list_forge_owners",
    params(("host" = String, Path, description = "The forge's host, `name` or `name:port`")),
    responses(
        (status = 200, body = Page<GithubOwner>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem),
        (status = 404, body = shared::Problem), (status = 422, body = shared::Problem), (status = 429, body = shared::Problem),
        (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/owners")]
async fn list_owners(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
) -> ApiResult<web::Json<Page<GithubOwner>>> {
    let forge = forge_for(&state, &user, &host).await?;
    let items = forge.owners().await.map_err(|e| e.into_api(forge.kind()))?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Query of the repository list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RepoQuery {
    /// A user, organisation or (GitLab) group path; every repository the user can push to
    /// when absent.
    owner: Option<String>,
    /// Only repositories whose name contains this.
    q: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 30).
    limit: Option<u32>,
}

/// The user's repositories on the forge, or an owner's, searched by name, newest activity
/// first.
#[utoipa::path(
    tag = "forges", operation_id = "list_forge_repos",
    params(("host" = String, Path, description = "The forge's host"), RepoQuery),
    responses(
        (status = 200, body = Page<GithubRepo>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/repos")]
async fn list_repos(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
    query: web::Query<RepoQuery>,
) -> ApiResult<web::Json<Page<GithubRepo>>> {
    let per_page = limit(query.limit)?;
    let page = page_of(query.cursor.as_deref())?;
    let owner = query.owner.as_deref().map(str::trim).filter(|o| !o.is_empty());
    if let Some(owner) = owner {
        let ok = owner.len() <= 255 && owner.split('/').all(crate::github::remote::valid_name);
        if !ok {
            return Err(ApiError::invalid("owner", "is not a user, organisation or group path"));
        }
    }
    let forge = forge_for(&state, &user, &host).await?;
    let listing = Listing {
        owner: owner.map(str::to_owned),
        q: query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned),
        page,
        per_page,
    };
    let (items, more) = forge.repos(&listing).await.map_err(|e| e.into_api(forge.kind()))?;
    Ok(web::Json(Page { items, next_cursor: more.then(|| (page + 1).to_string()) }))
}

/// Query naming one repository.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RepoAt {
    /// `owner/name`, or `group/subgroup/name` on GitLab.
    path: String,
}

impl RepoAt {
    /// The raw path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// One repository: proves the user's token can see it and gives its default branch and the
/// URL a task uses for it.
#[utoipa::path(
    tag = "forges", operation_id = "get_forge_repo",
    params(("host" = String, Path, description = "The forge's host"), RepoAt),
    responses(
        (status = 200, body = GithubRepo), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/repo")]
async fn get_repo(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
    query: web::Query<RepoAt>,
) -> ApiResult<web::Json<GithubRepo>> {
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, &query.path)?;
    Ok(web::Json(forge.repo(&repo).await.map_err(|e| e.into_api(forge.kind()))?))
}

/// Query of the recent-items lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// `owner/name`, or `group/subgroup/name` on GitLab.
    path: String,
    /// How many, 1 to 100 (default 30).
    limit: Option<u32>,
}

/// The repository's most recent commits on its default branch.
#[utoipa::path(
    tag = "forges", operation_id = "list_forge_commits",
    params(("host" = String, Path, description = "The forge's host"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubCommit>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/repo/commits")]
async fn list_commits(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubCommit>>> {
    let n = limit(query.limit)?;
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, &query.path)?;
    let items = forge.commits(&repo, n).await.map_err(|e| e.into_api(forge.kind()))?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The repository's most recently updated open issues.
#[utoipa::path(
    tag = "forges", operation_id = "list_forge_issues",
    params(("host" = String, Path, description = "The forge's host"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubIssue>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/repo/issues")]
async fn list_issues(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubIssue>>> {
    let n = limit(query.limit)?;
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, &query.path)?;
    let items = forge.issues(&repo, n).await.map_err(|e| e.into_api(forge.kind()))?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// The repository's most recently updated open pull requests (GitLab: merge requests).
#[utoipa::path(
    tag = "forges", operation_id = "list_forge_pulls",
    params(("host" = String, Path, description = "The forge's host"), RecentQuery),
    responses(
        (status = 200, body = Page<GithubPull>), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 422, body = shared::Problem),
        (status = 429, body = shared::Problem), (status = 503, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/forges/{host}/repo/pulls")]
async fn list_pulls(
    state: web::Data<AppState>,
    user: CurrentUser,
    host: web::Path<String>,
    query: web::Query<RecentQuery>,
) -> ApiResult<web::Json<Page<GithubPull>>> {
    let n = limit(query.limit)?;
    let forge = forge_for(&state, &user, &host).await?;
    let repo = repo_path(&*forge, &query.path)?;
    let items = forge.pulls(&repo, n).await.map_err(|e| e.into_api(forge.kind()))?;
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Registers the forge routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_owners)
        .service(list_repos)
        .service(get_repo)
        .service(list_commits)
        .service(list_issues)
        .service(list_pulls);
    super::pulls::configure(cfg);
    super::repo_pulls::configure(cfg);
    super::tasks_from::configure(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_names_with_an_optional_port() {
        for ok in ["gitlab.com", "127.0.0.1:8080", "git-01.example"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["", "a/b", "x:0", "x:99999", "h@x", "..%2f", "x:"] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}

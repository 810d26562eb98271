//! `/api/v1/admin/users`: the users of this server, making and removing administrators, and
//! disabling accounts.

use actix_web::{get, patch, web};
use shared::admin::{ManagedUser, UpdateUser};
use shared::page::Page;
use uuid::Uuid;

use crate::accounts::model as users;
use crate::accounts::User;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users).service(update_user);
}

fn to_dto(user: User) -> ManagedUser {
    ManagedUser {
        disabled: !user.is_active(),
        id: user.id,
        username: user.username,
        name: user.name,
        email: user.email,
        is_admin: user.is_admin,
        auth_provider: user.auth_provider,
        created_at: user.created_at,
    }
}

/// Every user, oldest first (admin).
#[utoipa::path(
    tag = "admin", operation_id = "list_users",
    responses((status = 200, body = Page<ManagedUser>), (status = 401, body = shared::Problem), (status = 403, body = shared::Problem)),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/admin/users")]
async fn list_users(
    state: web::Data<AppState>,
    _admin: AdminUser,
) -> ApiResult<web::Json<Page<ManagedUser>>> {
    let mut conn = state.conn().await?;
    let items = users::list(&mut conn).await?.into_iter().map(to_dto).collect();
    Ok(web::Json(Page { items, next_cursor: None }))
}

/// Makes a user an administrator or not, or disables or re-enables them (admin). Disabling
/// ends their sessions and refuses their tokens at once. The last active administrator can be
/// neither demoted nor disabled, and nobody disables themselves.
#[utoipa::path(
    tag = "admin", operation_id = "update_user", params(("id" = Uuid, Path, description = "User id")), request_body = UpdateUser,
    responses(
        (status = 200, body = ManagedUser), (status = 400, body = shared::Problem), (status = 401, body = shared::Problem),
        (status = 403, body = shared::Problem), (status = 404, body = shared::Problem), (status = 409, body = shared::Problem)
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/admin/users/{id}")]
async fn update_user(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUser>,
) -> ApiResult<web::Json<ManagedUser>> {
    let id = id.into_inner();
    let UpdateUser { is_admin, disabled } = body.into_inner();
    let mut conn = state.conn().await?;
    let target = users::find(&mut conn, id).await?.ok_or(ApiError::NotFound)?;
    if disabled == Some(true) && id == admin.0.id {
        return Err(ApiError::Conflict("You cannot disable your own account.".into()));
    }
    let loses_admin = target.is_admin
        && target.is_active()
        && (is_admin == Some(false) || disabled == Some(true));
    if loses_admin && users::count_admins(&mut conn).await? <= 1 {
        return Err(ApiError::Conflict(
            "This is the last active administrator: make someone else one first.".into(),
        ));
    }
    if let Some(admin_flag) = is_admin {
        users::set_admin(&mut conn, id, admin_flag).await?;
    }
    if let Some(off) = disabled {
        users::set_disabled(&mut conn, id, off).await?;
    }
    // Other processes hear it from the table's trigger; this one acts on it at once.
    state.auth.forget(crate::events::hub::AuthChange::User(id));
    tracing::info!(user_id = %id, by = %admin.0.id, ?is_admin, ?disabled, "user changed by an administrator");
    let updated = users::find(&mut conn, id).await?.ok_or(ApiError::NotFound)?;
    Ok(web::Json(to_dto(updated)))
}

//! The `connectors` table.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::connectors;

/// A stored connector; secrets still sealed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connectors)]
pub struct ConnectorRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub kind: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub url: Option<String>,
    pub env_enc: Option<String>,
    pub headers_enc: Option<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns a create or an update writes.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = connectors, treat_none_as_null = true)]
pub struct ConnectorValues {
    pub name: String,
    pub kind: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub url: Option<String>,
    pub env_enc: Option<String>,
    pub headers_enc: Option<String>,
    pub enabled: bool,
}

/// The user's connectors, by name.
pub async fn list(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<ConnectorRow>> {
    connectors::table
        .filter(connectors::user_id.eq(user_id))
        .order((connectors::name.asc(), connectors::id.asc()))
        .select(ConnectorRow::as_select())
        .load(conn)
        .await
}

/// One of the user's connectors.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<ConnectorRow>> {
    connectors::table
        .filter(connectors::id.eq(id).and(connectors::user_id.eq(user_id)))
        .select(ConnectorRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's connectors among `ids` (another user's ids are simply absent).
pub async fn by_ids(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<ConnectorRow>> {
    connectors::table
        .filter(connectors::user_id.eq(user_id).and(connectors::id.eq_any(ids)))
        .select(ConnectorRow::as_select())
        .load(conn)
        .await
}

/// Inserts connector `id` (its secrets are sealed for that id); `None` when the user already
/// has one with this name.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user_id: Uuid,
    values: &ConnectorValues,
) -> QueryResult<Option<ConnectorRow>> {
    diesel::insert_into(connectors::table)
        .values((connectors::id.eq(id), connectors::user_id.eq(user_id), values))
        .on_conflict((connectors::user_id, connectors::name))
        .do_nothing()
        .returning(ConnectorRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Replaces a connector's values; `Err(UniqueViolation)` when the new name is taken.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
    values: &ConnectorValues,
) -> QueryResult<Option<ConnectorRow>> {
    diesel::update(
        connectors::table.filter(connectors::id.eq(id).and(connectors::user_id.eq(user_id))),
    )
    .set((values, connectors::updated_at.eq(diesel::dsl::now)))
    .returning(ConnectorRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Deletes a connector; `false` when the user has none with this id.
pub async fn delete(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<bool> {
    let n = diesel::delete(
        connectors::table.filter(connectors::id.eq(id).and(connectors::user_id.eq(user_id))),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

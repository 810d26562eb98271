use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::support::TestDb;

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    data_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    is_nullable: String,
}

async fn schema(url: &str) -> Vec<Column> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let mut cols: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut idx: Vec<Column> = diesel::sql_query(
        "SELECT tablename::text AS table_name, indexname::text AS column_name, indexdef::text AS data_type, 'index'::text AS is_nullable FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    cols.append(&mut idx);
    cols.sort();
    cols
}

#[actix_web::test]
async fn every_down_migration_undoes_its_up() {
    let db = TestDb::empty().await;
    drydock_api::db::migrate(&db.url).await.unwrap();
    let first = schema(&db.url).await;
    assert!(first.iter().any(|c| c.table_name == "users"));
    drydock_api::db::revert_all(&db.url).await.unwrap();
    assert!(schema(&db.url).await.is_empty(), "down.sql left objects behind");
    drydock_api::db::migrate(&db.url).await.unwrap();
    assert_eq!(schema(&db.url).await, first);
}

//! The deadpool connection pool with explicit size and timeouts.
//!
//! A request that cannot get a connection within `pool_timeout_ms` fails with a 503 instead of
//! hanging; each new connection gets a server-side `statement_timeout` so a runaway query cannot
//! hold a connection forever, and an `application_name` so it can be told apart in
//! `pg_stat_activity`.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::future::{BoxFuture, FutureExt};

use crate::config::DatabaseSettings;

/// The pool type.
pub type DbPool = Pool<AsyncPgConnection>;
/// A pooled connection.
pub type Conn = Object<AsyncPgConnection>;
/// Failure to get a connection.
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// Builds the pool. No connection is opened until first use.
pub fn build_pool(url: &str, settings: &DatabaseSettings) -> anyhow::Result<DbPool> {
    let connect_timeout = Duration::from_millis(settings.connect_timeout_ms);
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |url| connect(url, connect_timeout));
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let statement_timeout = settings.statement_timeout_ms;
    let pool = Pool::builder(manager)
        .max_size(settings.pool_size)
        .wait_timeout(Some(Duration::from_millis(settings.pool_timeout_ms)))
        .create_timeout(Some(connect_timeout))
        .recycle_timeout(Some(connect_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .post_create(Hook::async_fn(move |conn: &mut AsyncPgConnection, _| {
            Box::pin(async move {
                conn.batch_execute(&format!(
                    "SET statement_timeout = {statement_timeout}; SET application_name = 'drydock'"
                ))
                .await
                .map_err(|e| HookError::message(e.to_string()))?;
                Ok(())
            })
        }))
        .build()?;
    Ok(pool)
}

fn connect(
    url: &str,
    timeout: Duration,
) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        match tokio::time::timeout(timeout, AsyncPgConnection::establish(url)).await {
            Ok(result) => result,
            Err(_) => Err(ConnectionError::BadConnection("connect timed out".into())),
        }
    }
    .boxed()
}

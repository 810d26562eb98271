//! The deadpool connection pool with explicit size and timeouts.
//!
//! A request that cannot get a connection within `pool_timeout_ms` fails with a 503 instead of
//! hanging; each new connection gets a server-side `statement_timeout` so a runaway query cannot
//! hold a connection forever, and an `application_name` so it can be told apart in
//! `pg_stat_activity`.
//!
//! A checkout runs no statement: connections are recycled the fast way (a connection that saw
//! a broken transaction or a closed socket is dropped, nothing is sent). Instead a background
//! check pings idle connections every [`CHECK_EVERY`] and drops those that fail, so a restarted
//! server or a cut connection costs at most one failed request per connection, not a round
//! trip on every request.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
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
    config.recycling_method = RecyclingMethod::Fast;
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
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(check_idle(pool.clone()));
    }
    Ok(pool)
}

/// How often idle connections are pinged.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);
/// Idle connections unused for this long are closed.
const MAX_IDLE: Duration = Duration::from_secs(10 * 60);

/// Every [`CHECK_EVERY`], until the pool is closed: closes connections idle for long, then
/// takes each idle connection in turn (never waiting for one: requests come first) and pings it.
async fn check_idle(pool: DbPool) {
    use diesel_async::RunQueryDsl;
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        pool.retain(|_, metrics| metrics.last_used() < MAX_IDLE);
        let now_wait =
            deadpool::managed::Timeouts { wait: Some(Duration::ZERO), ..pool.timeouts() };
        for _ in 0..pool.status().available {
            let Ok(mut conn) = pool.timeout_get(&now_wait).await else { break };
            let ping = diesel::sql_query("SELECT 1").execute(&mut *conn).await;
            if let Err(e) = ping {
                tracing::warn!(error = %e, "dropping a pooled connection that failed its check");
                let _ = Object::take(conn);
            }
        }
    }
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

//! The conformance suite against the bubblewrap backend, one test per check so they run in
//! parallel and fail separately.

use drydock_sandbox::conformance as check;

use crate::common::local_sandbox;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let root = tempfile::tempdir().unwrap();
            let sandbox = local_sandbox(root.path()).await;
            check::$name(&sandbox).await;
        }
    )*};
}

conformance!(
    runs_command,
    slow_sink_loses_nothing,
    environment_is_built_from_nothing,
    files_round_trip,
    home_persists,
    timeout_fires,
    idle_watchdog_fires,
    kill_stops_stubborn_command,
    lifecycle,
    keep_alive_and_gc,
    activity_is_seen,
    named_home_outlives_the_sandbox,
    terminal_works,
);

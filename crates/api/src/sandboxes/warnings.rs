//! `warning` events one minute (`tasks.deadline_warning_secs`) before a deadline: a run's
//! maximum duration, and a kept-alive sandbox's expiry. Each is sent once: the run's by the
//! worker that runs it (`worker::pipeline::deadline`, again after an extend), the expiry's by
//! whichever process claims it in the database first.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sandbox::Sandbox;
use shared::events::EventBody;
use shared::sandboxes::WarningKind;

use super::model;
use crate::db::DbPool;
use crate::events::store;

/// The event for a deadline.
pub fn warning(kind: WarningKind, deadline: DateTime<Utc>) -> EventBody {
    let message = match kind {
        WarningKind::RunTimeLimit => format!(
            "The run reaches its maximum duration at {} and will then be stopped.",
            deadline.to_rfc3339()
        ),
        WarningKind::SandboxExpiry => format!(
            "The sandbox will be removed at {} unless it is extended.",
            deadline.to_rfc3339()
        ),
    };
    EventBody::Warning { warning: kind, deadline, message }
}

/// Warns of every kept-alive sandbox that expires within `lead` and was not warned of for this
/// expiry yet; returns how many warnings were sent.
pub async fn warn_expiring(
    backend: &dyn Sandbox,
    pool: &DbPool,
    lead: Duration,
) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    let kept = model::kept(&mut conn).await?;
    let now = Utc::now();
    let lead = chrono::Duration::from_std(lead)?;
    let mut sent = 0;
    for (task_id, sandbox_id, warned) in kept {
        let Ok(handle) = backend.open(&sandbox_id).await else {
            continue;
        };
        let Ok(status) = backend.status(&handle).await else {
            continue;
        };
        // The database keeps microseconds: compare what it can hold.
        let until = status.expires_at.trunc_subsecs(6);
        if until <= now || until - now > lead || warned == Some(until) {
            continue;
        }
        if model::claim_warning(&mut conn, task_id, &sandbox_id, until).await? {
            store::append(&mut conn, task_id, &[warning(WarningKind::SandboxExpiry, until)])
                .await?;
            sent += 1;
        }
    }
    Ok(sent)
}

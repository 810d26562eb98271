//! The task lifecycle's enums at the database boundary. `tasks.status`, `runs.status` and
//! `tasks.stage` are text columns; these wrappers read and write them as the `shared` enums, so
//! no query spells a status as a string and an unknown value stored by someone else is a
//! loud deserialisation error, never silently `error` or `queued`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use shared::tasks::{TaskStage, TaskStatus};

/// A task's or a run's status as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Status(pub TaskStatus);

/// The statuses a task or run ends in.
pub const TERMINAL: [Status; 3] =
    [Status(TaskStatus::Completed), Status(TaskStatus::Error), Status(TaskStatus::Stopped)];

/// A task's stage as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Stage(pub TaskStage);

/// Text-column conversions of a wrapper around a `shared` enum with `as_str` and `parse`.
macro_rules! text_enum {
    ($wrapper:ident, $what:literal) => {
        impl FromSql<Text, Pg> for $wrapper {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
                match Parse::parse(&text) {
                    Some(value) => Ok(Self(value)),
                    None => Err(format!(concat!("unknown ", $what, " {:?}"), text).into()),
                }
            }
        }

        impl ToSql<Text, Pg> for $wrapper {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), &mut out.reborrow())
            }
        }
    };
}

/// The `parse` of the wrapped enums, for the macro.
trait Parse: Sized {
    fn parse(text: &str) -> Option<Self>;
}

impl Parse for TaskStatus {
    fn parse(text: &str) -> Option<Self> {
        TaskStatus::parse(text)
    }
}

impl Parse for TaskStage {
    fn parse(text: &str) -> Option<Self> {
        TaskStage::parse(text)
    }
}

text_enum!(Status, "task status");
text_enum!(Stage, "task stage");

impl From<TaskStatus> for Status {
    fn from(status: TaskStatus) -> Self {
        Self(status)
    }
}

impl From<TaskStage> for Stage {
    fn from(stage: TaskStage) -> Self {
        Self(stage)
    }
}

//! The opaque cursor of the task list: the last row's creation time and id, so pages stay
//! stable while new tasks arrive.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The cursor that continues after the row `(at, id)`.
pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

/// The row a cursor continues after; a 422 on `cursor` for anything this server did not issue.
pub fn decode(cursor: &str) -> ApiResult<(DateTime<Utc>, Uuid)> {
    let bad = || ApiError::invalid("cursor", "is not a cursor this server issued");
    let text =
        String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_forgeries() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::new_v4();
        assert_eq!(decode(&encode(at, id)).unwrap(), (at, id));
        for bad in
            ["", "!!!", &URL_SAFE_NO_PAD.encode("12|not-a-uuid"), &URL_SAFE_NO_PAD.encode("x")]
        {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}

//! The platform clock, and the `Server-Timing` header.
//!
//! workerd stops the clock while a Worker runs CPU work (a Spectre mitigation): `Date.now()`
//! advances only across I/O. A compute duration measured inside the Worker therefore reads 0,
//! whatever the work cost. The header reports the measured value as it is, says in its `desc`
//! that the platform clamps it, and names the work done in a second entry. The real compute
//! cost is measured outside the runtime (see `docs/bench/worker.md`).

/// Milliseconds from the platform clock (frozen during CPU work inside workerd).
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        worker::js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

/// A platform time (milliseconds since the Unix epoch) as RFC 3339 UTC, to the millisecond.
pub fn rfc3339(ms: f64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The header value for a request whose handler ran from `start` to `end` (milliseconds).
pub fn header(start: f64, end: f64, work: Option<&str>) -> String {
    let measured = (end - start).max(0.0);
    let mut value = format!(
        "compute;dur={measured};desc=\"measured in-Worker; workerd freezes timers during CPU work, so pure compute reads 0; see docs/bench/worker.md\""
    );
    if let Some(work) = work {
        value.push_str(&format!(", work;desc=\"{}\"", work.replace(['"', '\\'], "")));
    }
    value
}

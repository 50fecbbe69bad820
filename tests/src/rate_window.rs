//! Bursts against the local rate limiter, which counts in wall-clock-aligned 60 s
//! windows as Cloudflare's does: a burst must fall in one window to be counted as one.

/// The local limiter counts in wall-clock-aligned 60 s windows (as Cloudflare's does),
/// so a burst that straddles a minute boundary would start counting afresh midway.
/// Start each burst with at least `needed` seconds left in the current window.
fn at_window_start(needed: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into_window = now.as_secs() % 60;
    if into_window + needed >= 60 {
        std::thread::sleep(std::time::Duration::from_millis(
            (60 - into_window) * 1000 + 200,
        ));
    }
}

/// Runs `burst` (given its attempt number, 0 first) so that all of it falls in one of
/// the limiter's windows: started with `needed` seconds left, and, if a slow machine
/// still crossed into the next window (where the counts start afresh), run again on
/// fresh networks or accounts (the next attempt number) from the start of the window
/// after that, so that nothing the crossed attempt counted under any key (a network's,
/// an account's, an organization's) is counted again. Up to three attempts. What the
/// limiter decides after an answer (a `waitUntil`) must be awaited inside `burst`.
///
/// Returns the attempt that fell in one window and what its burst returned: the
/// answers a crossing could change (the refusals), asked inside and asserted after.
pub fn in_one_window<T>(needed: u64, mut burst: impl FnMut(u32) -> T) -> (u32, T) {
    let minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60
    };
    for attempt in 0..3 {
        // A whole window (the next one's start) for a burst made again.
        at_window_start(if attempt == 0 { needed } else { 60 });
        let started = minute();
        let answer = burst(attempt);
        if minute() == started {
            return (attempt, answer);
        }
    }
    panic!("three bursts each crossed a window's end: the machine is too slow for them");
}

/// Asserts that `res` tells to retry when a window of `window_s` seconds ends that began
/// with a request sent after `begun`: at most `window_s`, and at least that less the
/// time since `begun` (however long a loaded machine took over the requests since).
pub fn assert_retry_after_ends_window(
    res: &crate::TestResponse,
    window_s: u64,
    begun: std::time::Instant,
) {
    let retry: u64 = res
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("retry-after in seconds");
    let since = begun.elapsed().as_secs() + 1;
    assert!(
        (window_s.saturating_sub(since)..=window_s).contains(&retry),
        "retry after {retry} s, {since} s into a window of {window_s} s"
    );
}

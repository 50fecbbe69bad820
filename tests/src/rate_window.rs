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
/// the limiter's windows: started with `needed` seconds left, and run again on fresh
/// networks (the next attempt number) if a slow machine still crossed into the next
/// window, where the counts start afresh. Up to three attempts.
pub fn in_one_window(needed: u64, mut burst: impl FnMut(u32)) -> u32 {
    let minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 60
    };
    for attempt in 0..3 {
        at_window_start(needed);
        let started = minute();
        burst(attempt);
        if minute() == started {
            return attempt;
        }
    }
    panic!("three bursts each crossed a window's end: the machine is too slow for them");
}

//! Bearer tokens (JWT, HS256) as clients send them: never a panic, and nothing
//! verifies without our key — a fuzzer cannot forge an access or refresh token.
#![no_main]
use gatehouse_core::account::tokens::{verify_access, verify_refresh};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-32";

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now_ms = 1_800_000_000_000;
    assert!(verify_access(SECRET, token, now_ms).is_err(), "{token}");
    assert!(verify_refresh(SECRET, token, now_ms).is_err(), "{token}");
});

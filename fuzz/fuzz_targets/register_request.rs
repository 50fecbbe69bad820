//! `POST /register` bodies: the parser never panics, and whatever it accepts yields a
//! canonical message of exactly 8 lines — no field can smuggle a separator, so two
//! different registrations never sign the same bytes.
#![no_main]
use gatehouse_core::node_registration::{nonce_key, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(registration) = parse(body) {
        let message = registration.fields.canonical_message();
        assert_eq!(message.split('\n').count(), 8, "{message:?}");
        assert!(!nonce_key(&registration.signature).is_empty());
    }
});

//! `POST /register` bodies: the parser never panics, and whatever it accepts yields a
//! canonical message of exactly 8 lines (9 with nodeServices) — no field can smuggle a
//! separator, so two different registrations never sign the same bytes.
#![no_main]
use gatehouse_core::nodes::registration::parse;
use gatehouse_core::nodes::signed::nonce_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(registration) = parse(body) {
        let message = registration.fields.canonical_message();
        let lines = 8 + usize::from(registration.fields.node_services.is_some());
        assert_eq!(message.split('\n').count(), lines, "{message:?}");
        assert!(!nonce_key(&registration.signature).is_empty());
    }
});

//! Organization public keys as clients upload them (PEM, SPKI or PKCS#1): never a
//! panic; an accepted key has an allowed size and survives a PEM round trip.
#![no_main]
use gatehouse_core::crypto::rsa_keys::PublicKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pem) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PublicKey::from_pem(pem) {
        assert!((2048..=4096).contains(&key.bits()), "{} bits", key.bits());
        let again = PublicKey::from_pem(&key.to_spki_pem()).expect("round trip");
        assert_eq!(again.to_spki_pem(), key.to_spki_pem());
        assert!(!key.verify(b"message", data));
    }
});

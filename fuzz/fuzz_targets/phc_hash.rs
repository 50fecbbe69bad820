//! Stored password hashes (PHC strings): never a panic, and what parses prints back
//! to a string that parses to the same value.
#![no_main]
use gatehouse_core::crypto::password::PhcHash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(phc) = PhcHash::parse(text) {
        let printed = phc.to_string();
        assert_eq!(PhcHash::parse(&printed).as_ref(), Ok(&phc), "{printed}");
    }
});

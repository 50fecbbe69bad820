//! Our Montgomery RSA public operation (core/kernels/src/rsa_verify.rs) against num-bigint's
//! modpow, for any odd modulus of 65–512 bytes, any exponent and any signature: the
//! same value, or both refuse s ≥ n. Verification is a byte comparison on top of it.
#![no_main]
use gatehouse_core::crypto::rsa_verify::Verifier;
use libfuzzer_sys::fuzz_target;
use rsa::BigUint;

fuzz_target!(|data: &[u8]| {
    // [modulus length − 65] [exponent: 8 bytes] [modulus] [signature]
    let Some((&len_byte, rest)) = data.split_first() else {
        return;
    };
    let n_len = 65 + usize::from(len_byte) * 447 / 255;
    if rest.len() < 8 + 2 * n_len {
        return;
    }
    let (e_be, rest) = rest.split_at(8);
    let (n_be, s_be) = rest.split_at(n_len);
    let s_be = &s_be[..n_len];
    let mut n_be = n_be.to_vec();
    n_be[0] |= 0x01;
    n_be[n_len - 1] |= 0x01;
    let Some(verifier) = Verifier::new(&n_be, e_be) else {
        let e = u64::from_be_bytes(e_be.try_into().unwrap());
        assert!(e < 2, "refused an odd {n_len}-byte modulus with e = {e}");
        return;
    };
    let n = BigUint::from_bytes_be(&n_be);
    let s = BigUint::from_bytes_be(s_be);
    let expected = (s < n).then(|| {
        let value = s.modpow(&BigUint::from_bytes_be(e_be), &n).to_bytes_be();
        let mut padded = vec![0u8; n_len - value.len()];
        padded.extend(value);
        padded
    });
    assert_eq!(verifier.public_op(s_be), expected);
});

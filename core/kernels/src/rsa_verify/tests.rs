//! The Montgomery verifier's parts (the DigestInfo, the inverse mod 2^32, R² mod n,
//! the public operation) against big-integer arithmetic, and the whole against the
//! `rsa` crate's verifier on real keys; keys it cannot use are refused.

use super::*;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};

fn verifier(key: &RsaPublicKey) -> Verifier {
    Verifier::new(&key.n().to_bytes_be(), &key.e().to_bytes_be()).unwrap()
}

/// A deterministic byte stream (xorshift), so failures reproduce.
fn bytes(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

#[test]
fn digest_info_is_the_one_rsa_uses_for_sha256() {
    assert_eq!(
        &*Pkcs1v15Sign::new::<Sha256>().prefix,
        &SHA256_DIGEST_INFO[..]
    );
}

#[test]
fn inverse_mod_2_32_inverts_every_odd_shape() {
    for x in [1u32, 3, 0xffff_ffff, 0x8000_0001, 0x1234_5679, 65537] {
        assert_eq!(x.wrapping_mul(inverse_mod_2_32(x)), 1, "{x:#x}");
    }
}

#[test]
fn r_squared_is_r_squared_mod_n() {
    let mut seed = 7;
    for n_len in [65usize, 256, 257, 259, 512] {
        let mut n_be = bytes(&mut seed, n_len);
        n_be[0] |= 1;
        *n_be.last_mut().unwrap() |= 1;
        let v = Verifier::new(&n_be, &[1, 0, 1]).unwrap();
        let n = BigUint::from_bytes_be(&n_be);
        let r2 = (BigUint::from(1u32) << (64 * v.n.len())) % &n;
        let mut expected = r2.to_bytes_be();
        expected.splice(0..0, vec![0; n_len - expected.len()]);
        assert_eq!(limbs_to_be(&v.r2, n_len), expected, "{n_len} bytes");
    }
}

#[test]
fn public_op_matches_bigint_modpow() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    // Odd moduli of awkward sizes (not whole limbs, top limb small or full), and
    // exponents from 3 to 64 bits.
    for (n_len, e) in [
        (65usize, 3u64),
        (129, 65537),
        (256, 65537),
        (257, 0xffff_ffff_ffff_ffff),
        (383, 17),
        (512, 65537),
    ] {
        let mut n_be = bytes(&mut seed, n_len);
        n_be[0] |= 0x80 >> (n_len % 3); // top bit set or nearly
        *n_be.last_mut().unwrap() |= 1;
        let v = Verifier::new(&n_be, &e.to_be_bytes()).unwrap();
        let n = BigUint::from_bytes_be(&n_be);
        for round in 0..20 {
            let mut s_be = bytes(&mut seed, n_len);
            if round == 0 {
                s_be = vec![0; n_len];
            } else if round == 1 {
                s_be = (n.clone() - 1u32).to_bytes_be();
            }
            let s = BigUint::from_bytes_be(&s_be);
            let expected = (s < n).then(|| {
                let r = s.modpow(&BigUint::from(e), &n).to_bytes_be();
                let mut padded = vec![0u8; n_len - r.len()];
                padded.extend(r);
                padded
            });
            assert_eq!(v.public_op(&s_be), expected, "n_len {n_len}, round {round}");
        }
        assert_eq!(v.public_op(&n_be), None, "s = n is out of range");
    }
}

#[test]
fn verify_agrees_with_rsa_on_real_keys() {
    let mut seed = 42;
    for bits in [2048, 2056, 3072, 4096] {
        let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).unwrap();
        let public = private.to_public_key();
        let v = verifier(&public);
        let message = bytes(&mut seed, 100);
        let digest = Sha256::digest(&message);
        let sig = private
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .unwrap();
        assert!(v.verify(&message, &sig), "{bits}");

        let rsa_says = |m: &[u8], s: &[u8]| {
            public
                .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(m), s)
                .is_ok()
        };
        let mut candidates = vec![
            sig[1..].to_vec(),
            [&[0u8][..], &sig].concat(),
            vec![0; sig.len()],
            public.n().to_bytes_be(),
            (public.n() - 1u32).to_bytes_be(),
        ];
        for byte in [0, sig.len() / 2, sig.len() - 1] {
            let mut flipped = sig.clone();
            flipped[byte] ^= 0x01;
            candidates.push(flipped);
        }
        for s in &candidates {
            assert_eq!(v.verify(&message, s), rsa_says(&message, s), "{bits}");
            assert!(!v.verify(&message, s));
        }
        assert!(!v.verify(b"another message", &sig));
    }
}

#[test]
fn keys_no_rsa_verifier_can_use_are_refused() {
    let odd = [0xc5u8; 256];
    let mut even = odd;
    even[255] = 0xc4;
    assert!(Verifier::new(&odd, &[1, 0, 1]).is_some());
    assert!(Verifier::new(&even, &[1, 0, 1]).is_none(), "even modulus");
    assert!(Verifier::new(&odd[..64], &[1, 0, 1]).is_none(), "512 bits");
    assert!(Verifier::new(&odd, &[1]).is_none(), "e = 1");
    assert!(Verifier::new(&odd, &[]).is_none(), "e = 0");
    assert!(Verifier::new(&odd, &[1; 9]).is_none(), "e ≥ 2⁶⁴");
    assert!(
        Verifier::new(&[&[0u8, 0][..], &odd].concat(), &[0, 3]).is_some(),
        "leading zeros are not length"
    );
}

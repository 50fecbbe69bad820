//! RSASSA-PKCS1-v1_5 / SHA-256 verification (RFC 8017 §8.2.2) with our own
//! Montgomery arithmetic.
//!
//! Why not `rsa`'s own verify: num-bigint-dig's generic `modpow` runs a fixed 4-bit
//! window over whole digits (~56 Montgomery products where e = 65537 needs 17) and
//! recomputes R² mod n by long division on every call: 0.62 ms per RSA-2048 verify in
//! wasm, above the 0.5 ms budget (docs/performance.md, "Benchmarks"). Here R² is
//! computed once per key and the exponent is walked bit by bit: 0.10 ms. `rsa` still parses keys
//! (and signs, in the CLI and tests); everything here is checked against it
//! (tests below, fuzz target `rsa_verify`).
//!
//! Nothing here is secret — the modulus, exponent and signature are all public —
//! so the code need not be constant-time.

use sha2::{Digest, Sha256};

/// DER of `DigestInfo { sha256, NULL }` without the hash (RFC 8017 §9.2, note 1).
pub(crate) const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// A public key prepared for repeated verification: everything that depends only on
/// the key is computed once (and cached with the parsed key, per isolate).
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    /// Modulus, little-endian 32-bit limbs; odd.
    n: Vec<u32>,
    /// -n⁻¹ mod 2³².
    n0_inv: u32,
    /// R² mod n, R = 2^(32·limbs): converts into Montgomery form with one product.
    r2: Vec<u32>,
    /// The public exponent.
    e: u64,
    /// Modulus length in bytes (k in RFC 8017).
    k: usize,
}

impl Verifier {
    /// `n` and `e` as big-endian bytes. None unless n is odd and above 2⁵¹² (RSA
    /// moduli are odd; smaller ones cannot hold a SHA-256 PKCS#1 v1.5 block) and
    /// 1 < e < 2⁶⁴.
    pub fn new(n_be: &[u8], e_be: &[u8]) -> Option<Verifier> {
        let n_be = strip_leading_zeros(n_be);
        let e_be = strip_leading_zeros(e_be);
        if n_be.len() <= 64 || n_be.last()? & 1 == 0 || e_be.is_empty() || e_be.len() > 8 {
            return None;
        }
        let e = e_be.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if e < 2 {
            return None;
        }
        let n = limbs_from_be(n_be, n_be.len().div_ceil(4));
        let n0_inv = inverse_mod_2_32(n[0]).wrapping_neg();
        let r2 = r_squared_mod(&n, n0_inv);
        Some(Verifier {
            n,
            n0_inv,
            r2,
            e,
            k: n_be.len(),
        })
    }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify_any(&[message], signature).is_some()
    }

    /// Which of `messages` (if any) `signature` signs: one public operation, then the
    /// result compared with each message's encoding. A request that may be signed in
    /// several forms costs the RSA work of one.
    pub fn verify_any(&self, messages: &[&[u8]], signature: &[u8]) -> Option<usize> {
        // RFC 8017 §8.2.2 step 1: exactly k bytes.
        if signature.len() != self.k {
            return None;
        }
        let em = self.public_op(signature)?;
        // Steps 3–4: compare with the one valid encoding instead of parsing `em`, so
        // no padding or DigestInfo parser exists to get wrong.
        messages
            .iter()
            .position(|m| em == self.encode(&Sha256::digest(m)))
    }

    /// s^e mod n as k big-endian bytes; None if s ≥ n (RFC 8017 §5.2.2).
    pub fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        let len = self.n.len();
        let s = limbs_from_be(strip_leading_zeros(signature), len);
        if s.len() > len || !less_than(&s, &self.n) {
            return None;
        }
        let montgomery = Montgomery {
            n: &self.n,
            n0_inv: self.n0_inv,
        };
        let mut scratch = vec![0u32; len + 1];
        let mut s_mont = vec![0u32; len];
        montgomery.mul(&s, &self.r2, &mut scratch, &mut s_mont);
        let mut acc = s_mont.clone();
        let mut tmp = vec![0u32; len];
        // Left to right over e's bits below the top one.
        for bit in (0..63 - self.e.leading_zeros()).rev() {
            montgomery.mul(&acc, &acc, &mut scratch, &mut tmp);
            if self.e >> bit & 1 == 1 {
                montgomery.mul(&tmp, &s_mont, &mut scratch, &mut acc);
            } else {
                std::mem::swap(&mut acc, &mut tmp);
            }
        }
        // Out of Montgomery form: multiply by 1.
        let mut one = vec![0u32; len];
        one[0] = 1;
        montgomery.mul(&acc, &one, &mut scratch, &mut tmp);
        Some(limbs_to_be(&tmp, self.k))
    }

    /// EMSA-PKCS1-v1_5 encoding of a SHA-256 digest: 00 01 FF… 00 DigestInfo hash.
    fn encode(&self, digest: &[u8]) -> Vec<u8> {
        let mut em = vec![0xff; self.k];
        em[0] = 0x00;
        em[1] = 0x01;
        let tail = SHA256_DIGEST_INFO.len() + digest.len();
        em[self.k - tail - 1] = 0x00;
        em[self.k - tail..self.k - digest.len()].copy_from_slice(&SHA256_DIGEST_INFO);
        em[self.k - digest.len()..].copy_from_slice(digest);
        em
    }
}

/// Multiplication modulo an odd n without division.
struct Montgomery<'a> {
    n: &'a [u32],
    /// -n⁻¹ mod 2³².
    n0_inv: u32,
}

impl Montgomery<'_> {
    /// out = a·b·R⁻¹ mod n for a, b < n. Coarsely integrated operand scanning (Koç,
    /// Acar, Kaliski 1996) with the multiply and reduce passes fused into one loop
    /// over the limbs (1.4× faster in wasm than two passes, measured). `scratch` has
    /// limbs + 1 words.
    fn mul(&self, a: &[u32], b: &[u32], scratch: &mut [u32], out: &mut [u32]) {
        let len = self.n.len();
        let (n, b, t) = (self.n, &b[..len], &mut scratch[..len + 1]);
        t.fill(0);
        for &ai in &a[..len] {
            let ai = u64::from(ai);
            // Word 0 decides m, the multiple of n that makes the low word zero.
            let sum = u64::from(t[0]) + ai * u64::from(b[0]);
            let m = u64::from((sum as u32).wrapping_mul(self.n0_inv));
            let mut carry_mul = sum >> 32;
            let mut carry_red = (u64::from(sum as u32) + m * u64::from(n[0])) >> 32;
            // t = (t + ai·b + m·n) / 2³², one word at a time. Each sum fits u64:
            // (2³²−1)² + 2·(2³²−1) = 2⁶⁴ − 1.
            for j in 1..len {
                let sum = u64::from(t[j]) + ai * u64::from(b[j]) + carry_mul;
                carry_mul = sum >> 32;
                let sum = u64::from(sum as u32) + m * u64::from(n[j]) + carry_red;
                carry_red = sum >> 32;
                t[j - 1] = sum as u32;
            }
            let sum = u64::from(t[len]) + carry_mul + carry_red;
            t[len - 1] = sum as u32;
            t[len] = (sum >> 32) as u32;
        }
        // t < 2n: one conditional subtraction brings it below n.
        if t[len] != 0 || !less_than(&t[..len], n) {
            subtract_in_place(&mut t[..len], n);
        }
        out.copy_from_slice(&t[..len]);
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({} bits, e = {})", self.k * 8, self.e)
    }
}

fn strip_leading_zeros(be: &[u8]) -> &[u8] {
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    &be[first..]
}

/// Big-endian bytes into at least `len` little-endian limbs (more if the value needs them).
fn limbs_from_be(be: &[u8], len: usize) -> Vec<u32> {
    let mut limbs = vec![0u32; len.max(be.len().div_ceil(4))];
    for (i, &byte) in be.iter().rev().enumerate() {
        limbs[i / 4] |= u32::from(byte) << (8 * (i % 4));
    }
    limbs
}

/// The low `k` bytes of `limbs`, big-endian.
fn limbs_to_be(limbs: &[u32], k: usize) -> Vec<u8> {
    (0..k)
        .rev()
        .map(|i| (limbs[i / 4] >> (8 * (i % 4))) as u8)
        .collect()
}

/// a < b, both little-endian with the same number of limbs.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a −= b (mod 2^(32·len)).
fn subtract_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let d = u64::from(*x)
            .wrapping_sub(u64::from(y))
            .wrapping_sub(borrow);
        *x = d as u32;
        borrow = d >> 63;
    }
}

/// x⁻¹ mod 2³² for odd x: Newton's iteration doubles the correct low bits each step
/// (x is its own inverse mod 8, so 3 → 6 → 12 → 24 → 48 bits).
fn inverse_mod_2_32(x: u32) -> u32 {
    let mut inv = x;
    for _ in 0..4 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(x.wrapping_mul(inv)));
    }
    inv
}

/// R² mod n, R = 2^(32·len). Doubling all the way there costs 32·len passes over n;
/// instead double only to x = R·2^len mod n, then square five times in Montgomery
/// form (each mont_mul(x, x) = x²/R): R·2^len → R·2^(2·len) → … → R·2^(32·len) = R².
fn r_squared_mod(n: &[u32], n0_inv: u32) -> Vec<u32> {
    let len = n.len();
    // Start from 2^top, the highest power of two below n.
    let top = 32 * len - n[len - 1].leading_zeros() as usize - 1;
    let mut x = vec![0u32; len];
    x[top / 32] = 1 << (top % 32);
    for _ in top..33 * len {
        // x = 2x mod n; x < n, so 2x < 2n needs at most one subtraction.
        let overflow = x[len - 1] >> 31;
        for i in (1..len).rev() {
            x[i] = (x[i] << 1) | (x[i - 1] >> 31);
        }
        x[0] <<= 1;
        if overflow == 1 || !less_than(&x, n) {
            subtract_in_place(&mut x, n);
        }
    }
    let montgomery = Montgomery { n, n0_inv };
    let mut scratch = vec![0u32; len + 1];
    let mut squared = vec![0u32; len];
    for _ in 0..5 {
        montgomery.mul(&x, &x, &mut scratch, &mut squared);
        std::mem::swap(&mut x, &mut squared);
    }
    x
}

#[cfg(test)]
mod tests;

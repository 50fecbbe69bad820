//! PBKDF2-HMAC-SHA256/512 (RFC 8018) over the raw SHA-2 compression function.
//!
//! Why not the `pbkdf2` crate's generic loop: each of the hundreds of thousands of
//! iterations there clones two HMAC states, feeds bytes through the block buffer and
//! finalises with padding logic. Here the keyed inner and outer states are computed
//! once, and every iteration is exactly two compressions over one pre-padded block
//! whose first bytes are overwritten with the previous digest — no allocation, no
//! buffering, no length bookkeeping. Same output, byte for byte: tests hold it to the
//! RFC 6070 / RFC 7914 vectors and to the `pbkdf2` crate (docs/performance.md,
//! "Password and secret hashing").

use sha2::digest::generic_array::GenericArray;

/// The part of SHA-256 / SHA-512 PBKDF2 needs: the compression function and its shape.
pub(crate) trait Sha2 {
    type Word: Copy + Default + core::ops::BitXorAssign;
    /// Bytes per message block (64 / 128).
    const BLOCK: usize;
    /// Bytes per state word (4 / 8); the digest is 8 words, the length field 2.
    const WORD: usize;
    const IV: [Self::Word; 8];
    /// Compresses one `BLOCK`-byte block into `state`.
    fn compress(state: &mut [Self::Word; 8], block: &[u8]);
    /// Writes `word` big-endian into `out` (`WORD` bytes).
    fn put(word: Self::Word, out: &mut [u8]);
}

pub(crate) enum Sha256 {}
pub(crate) enum Sha512 {}

impl Sha2 for Sha256 {
    type Word = u32;
    const BLOCK: usize = 64;
    const WORD: usize = 4;
    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    #[inline(always)]
    fn compress(state: &mut [u32; 8], block: &[u8]) {
        sha2::compress256(
            state,
            core::slice::from_ref(GenericArray::from_slice(block)),
        );
    }
    #[inline(always)]
    fn put(word: u32, out: &mut [u8]) {
        out.copy_from_slice(&word.to_be_bytes());
    }
}

impl Sha2 for Sha512 {
    type Word = u64;
    const BLOCK: usize = 128;
    const WORD: usize = 8;
    const IV: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];
    #[inline(always)]
    fn compress(state: &mut [u64; 8], block: &[u8]) {
        sha2::compress512(
            state,
            core::slice::from_ref(GenericArray::from_slice(block)),
        );
    }
    #[inline(always)]
    fn put(word: u64, out: &mut [u8]) {
        out.copy_from_slice(&word.to_be_bytes());
    }
}

/// PBKDF2-HMAC-SHA256 into `out` (`rounds` ≥ 1): compiled here, at this crate's
/// level (lib.rs says why).
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    pbkdf2_hmac::<Sha256>(password, salt, rounds, out)
}

/// PBKDF2-HMAC-SHA512 into `out` (`rounds` ≥ 1), as [`pbkdf2_hmac_sha256`].
pub fn pbkdf2_hmac_sha512(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    pbkdf2_hmac::<Sha512>(password, salt, rounds, out)
}

/// Fills `out` with PBKDF2-HMAC-`H`(`password`, `salt`, `rounds`). `rounds` ≥ 1.
/// Generic, so compiled where it is instantiated: kept to this crate, whose callers
/// use [`pbkdf2_hmac_sha256`] or [`pbkdf2_hmac_sha512`].
pub(crate) fn pbkdf2_hmac<H: Sha2>(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let digest_len = 8 * H::WORD;
    let (inner, outer) = keyed_states::<H>(password);
    // One block serves every iteration of both HMAC halves: each hashes one digest
    // after the one key block, so the padding and length never change.
    let mut block = vec![0u8; H::BLOCK];
    pad(&mut block, digest_len, H::BLOCK + digest_len, H::WORD);
    for (index, chunk) in out.chunks_mut(digest_len).enumerate() {
        let block_number = (index as u32 + 1).to_be_bytes();
        let mut u = hmac::<H>(&inner, &outer, &[salt, &block_number]);
        let mut t = u;
        for _ in 1..rounds {
            store::<H>(&u, &mut block[..digest_len]);
            let mut state = inner;
            H::compress(&mut state, &block);
            store::<H>(&state, &mut block[..digest_len]);
            u = outer;
            H::compress(&mut u, &block);
            for (t, u) in t.iter_mut().zip(&u) {
                *t ^= *u;
            }
        }
        let mut bytes = vec![0u8; digest_len];
        store::<H>(&t, &mut bytes);
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// The HMAC states after the key block: `(ipad state, opad state)`.
fn keyed_states<H: Sha2>(password: &[u8]) -> ([H::Word; 8], [H::Word; 8]) {
    let mut key = vec![0u8; H::BLOCK];
    if password.len() > H::BLOCK {
        // RFC 2104: a key longer than a block is replaced by its hash.
        let digest = hash_from::<H>(H::IV, 0, &[password]);
        store::<H>(&digest, &mut key[..8 * H::WORD]);
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let state_for = |pad_byte: u8| {
        let block: Vec<u8> = key.iter().map(|k| k ^ pad_byte).collect();
        let mut state = H::IV;
        H::compress(&mut state, &block);
        state
    };
    (state_for(0x36), state_for(0x5c))
}

/// HMAC of the concatenated `parts`, from the keyed states (used once per output block).
fn hmac<H: Sha2>(inner: &[H::Word; 8], outer: &[H::Word; 8], parts: &[&[u8]]) -> [H::Word; 8] {
    let inner_digest = hash_from::<H>(*inner, H::BLOCK, parts);
    let mut bytes = vec![0u8; 8 * H::WORD];
    store::<H>(&inner_digest, &mut bytes);
    hash_from::<H>(*outer, H::BLOCK, &[&bytes])
}

/// Finishes a hash whose `state` has already absorbed `prefix_len` bytes (whole
/// blocks) with the concatenation of `parts`.
fn hash_from<H: Sha2>(mut state: [H::Word; 8], prefix_len: usize, parts: &[&[u8]]) -> [H::Word; 8] {
    let message: Vec<u8> = parts.concat();
    let total = prefix_len + message.len();
    // Message, 0x80, zeros, and the bit length in the last 2 words of a block.
    let padded_len = (message.len() + 1 + 2 * H::WORD).div_ceil(H::BLOCK) * H::BLOCK;
    let mut padded = vec![0u8; padded_len];
    padded[..message.len()].copy_from_slice(&message);
    pad(&mut padded, message.len(), total, H::WORD);
    for block in padded.chunks(H::BLOCK) {
        H::compress(&mut state, block);
    }
    state
}

/// Writes SHA-2 padding into `buffer` (whose length is a multiple of the block) after
/// `len` message bytes, for a message of `total` bytes in all.
fn pad(buffer: &mut [u8], len: usize, total: usize, word: usize) {
    buffer[len] = 0x80;
    let bits = (total as u128) * 8;
    let field = 2 * word;
    let end = buffer.len();
    buffer[end - field..].copy_from_slice(&bits.to_be_bytes()[16 - field..]);
}

fn store<H: Sha2>(state: &[H::Word; 8], out: &mut [u8]) {
    for (word, bytes) in state.iter().zip(out.chunks_exact_mut(H::WORD)) {
        H::put(*word, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    fn ours<H: Sha2>(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> String {
        let mut out = vec![0u8; len];
        pbkdf2_hmac::<H>(password, salt, rounds, &mut out);
        hex(&out)
    }

    #[test]
    fn rfc_6070_style_vectors_for_sha256() {
        // RFC 6070's inputs with SHA-256 (as published alongside RFC 7914 test sets).
        assert_eq!(
            ours::<Sha256>(b"password", b"salt", 1, 32),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            ours::<Sha256>(b"password", b"salt", 2, 32),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
        );
        assert_eq!(
            ours::<Sha256>(b"password", b"salt", 4096, 32),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        assert_eq!(
            ours::<Sha256>(
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096,
                40
            ),
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"
        );
        assert_eq!(
            ours::<Sha256>(b"pass\0word", b"sa\0lt", 4096, 16),
            "89b69d0516f829893c696226650a8687"
        );
    }

    #[test]
    fn rfc_7914_pbkdf2_sha256_vectors() {
        assert_eq!(
            ours::<Sha256>(b"passwd", b"salt", 1, 64),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            ours::<Sha256>(b"Password", b"NaCl", 80000, 64),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    #[test]
    fn sha512_known_answer() {
        // Python: hashlib.pbkdf2_hmac('sha512', b'password', b'salt', 1000).hex()
        assert_eq!(
            ours::<Sha512>(b"password", b"salt", 1000, 64),
            "afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5b\
             f59de69c48f774efc4007d5298f9033c0241d5ab69305e7b64eceeb8d834cfec"
        );
    }

    #[test]
    fn matches_the_pbkdf2_crate_on_every_length_boundary() {
        // Passwords and salts around the block sizes (key hashing, one- and two-block
        // U1 messages), outputs shorter, equal and longer than one digest.
        for len in [0usize, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 200] {
            let password: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let salt: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for (rounds, out_len) in [(1u32, 20usize), (3, 32), (17, 64), (5, 100)] {
                let mut reference = vec![0u8; out_len];
                ::pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, &salt, rounds, &mut reference);
                assert_eq!(
                    ours::<Sha256>(&password, &salt, rounds, out_len),
                    hex(&reference),
                    "sha256 len {len} rounds {rounds} out {out_len}"
                );
                ::pbkdf2::pbkdf2_hmac::<sha2::Sha512>(&password, &salt, rounds, &mut reference);
                assert_eq!(
                    ours::<Sha512>(&password, &salt, rounds, out_len),
                    hex(&reference),
                    "sha512 len {len} rounds {rounds} out {out_len}"
                );
            }
        }
    }
}

//! An artifact's identity: the SHA-256 of its bytes. The trainer prints it when it publishes,
//! the Worker names uploads after it and reports it in `X-Model-Version`; both call these.

use sha2::{Digest, Sha256};

/// The SHA-256 of an artifact's bytes, as 64 lower-case hex digits.
pub fn artifact_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// An artifact's version: the first 16 hex digits of its SHA-256.
pub fn artifact_version(bytes: &[u8]) -> String {
    let mut hex = artifact_sha256(bytes);
    hex.truncate(16);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_first_16_hex_digits_of_sha256() {
        // FIPS 180-2's "abc" example.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(artifact_sha256(b"abc"), abc);
        assert_eq!(artifact_version(b"abc"), &abc[..16]);
    }
}

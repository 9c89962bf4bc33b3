//! Random identifiers: session ids, channel tokens, resume secrets and the
//! prefix of server messageids.

use rand::RngCore;

/// Random lowercase hex of `n` bytes.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_hex_of_the_length_asked_and_differ() {
        let a = super::random_hex(8);
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(a, super::random_hex(8));
    }
}

//! Locker codes.
//!
//! A store with a locker hands the renter a one-time password: HOTP (RFC 4226) over the
//! locker's counter, keyed with its hex secret, using HMAC-SHA512; the first four of the
//! six digits open the locker. A return at such a store proves presence with the QR
//! code's salt and signature: uppercase hex SHA-256 of `UPPER(secret) + "." + UPPER(salt)`.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::domain::bank::{BankCipher, Owner};
use crate::error::Error;

/// Seals a locker's secret for storage, bound to the locker's id.
pub fn seal(cipher: &BankCipher, locker_id: i64, secret: &LockerSecret) -> Result<Vec<u8>, Error> {
    cipher.encrypt(secret.as_str(), Owner::Locker(locker_id))
}

/// A stored secret in the clear: sealed (the form every locker gets), or plain for a row
/// written before sealing that the WAS has not sealed yet.
pub fn unseal(
    cipher: &BankCipher,
    locker_id: i64,
    plain: Option<&str>,
    sealed: Option<&[u8]>,
) -> Result<String, Error> {
    match (sealed, plain) {
        (Some(sealed), _) => cipher.decrypt(sealed, Owner::Locker(locker_id)),
        (None, Some(plain)) => Ok(plain.to_owned()),
        (None, None) => Err(Error::internal("a locker without a secret")),
    }
}

/// A locker's secret: at least 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockerSecret(String);

impl LockerSecret {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let s = raw.trim();
        if s.len() >= 32 && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid_locker_secret",
                "보관함 비밀키는 32자리 이상, 짝수 자리의 16진수여야 합니다.",
            ))
        }
    }

    /// A fresh secret from the operating system's random source: 128 bits, 32 hex digits.
    pub fn generate() -> Self {
        use aes_gcm::aead::rand_core::RngCore;
        let mut bytes = [0u8; 16];
        aes_gcm::aead::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 4226 HOTP with HMAC-SHA512 and `digits` digits.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    let mut mac =
        <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = (u32::from(hash[offset]) & 0x7f) << 24
        | u32::from(hash[offset + 1]) << 16
        | u32::from(hash[offset + 2]) << 8
        | u32::from(hash[offset + 3]);
    let code = binary % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The four-digit locker password for `counter`.
pub fn locker_password(secret_hex: &str, counter: u64) -> Result<String, Error> {
    let key =
        hex::decode(secret_hex).map_err(|_| Error::internal("stored locker secret is not hex"))?;
    let six = hotp(&key, counter, 6);
    Ok(six[..4].to_owned())
}

/// The signature a locker's QR code carries for `salt`.
pub fn signature(secret: &str, salt: &str) -> String {
    let digest = Sha256::digest(format!("{}.{}", secret.to_uppercase(), salt.to_uppercase()));
    hex::encode_upper(digest)
}

/// Checks a presented signature in constant time.
pub fn verify_signature(secret: &str, salt: &str, presented: &str) -> bool {
    let expected = signature(secret, salt);
    let presented = presented.trim().to_uppercase();
    bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_bytes(),
        presented.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-512 TOTP vectors are HOTP at counter = time / 30.
    #[test]
    fn hotp_sha512_matches_rfc_6238_vectors() {
        let key = b"1234567890123456789012345678901234567890123456789012345678901234";
        assert_eq!(hotp(key, 59 / 30, 8), "90693936");
        assert_eq!(hotp(key, 1_111_111_109 / 30, 8), "25091201");
        assert_eq!(hotp(key, 1_234_567_890 / 30, 8), "93441116");
        assert_eq!(hotp(key, 20_000_000_000 / 30, 8), "47863826");
    }

    #[test]
    fn locker_password_is_the_first_four_of_six_digits() {
        let secret = "3132333435363738393031323334353637383930313233343536373839303132";
        let key = hex::decode(secret).expect("hex");
        let six = hotp(&key, 7, 6);
        assert_eq!(locker_password(secret, 7).expect("password"), six[..4]);
        assert_ne!(
            locker_password(secret, 7).ok(),
            locker_password(secret, 8).ok()
        );
    }

    #[test]
    fn signatures_are_case_insensitive_in_their_inputs() {
        let sig = signature("abcdef0123456789abcdef0123456789", "salt-1");
        assert_eq!(sig, signature("ABCDEF0123456789ABCDEF0123456789", "SALT-1"));
        assert_eq!(sig.len(), 64);
        assert!(
            sig.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(verify_signature(
            "abcdef0123456789abcdef0123456789",
            "salt-1",
            &sig.to_lowercase()
        ));
        assert!(!verify_signature(
            "abcdef0123456789abcdef0123456789",
            "salt-2",
            &sig
        ));
    }

    #[test]
    fn secrets_must_be_long_hex() {
        assert!(LockerSecret::parse("00112233445566778899aabbccddeeff").is_ok());
        assert!(LockerSecret::parse("00112233").is_err());
        assert!(LockerSecret::parse("zz112233445566778899aabbccddeeff").is_err());
    }
}

//! Signed QR codes. An umbrella's sticker opens `/rent/{id}?code=…` and a store's opens
//! `/return/{id}?code=…`; the code is a MAC of what it names under a server key, so a
//! rent needs the umbrella's sticker in hand and a return needs the store's, not just an
//! id read off the public API.
//!
//! The original service's stickers (`/rent/form/{id}`, `/return/form?storeId=…`) carry
//! no code of ours; `QR_LEGACY_CODES` decides whether they still work while they are
//! replaced.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a code: 96 bits, 16 characters in the URL. Guessing one
/// online is out of reach; a shorter URL keeps the printed QR code coarse and easy to
/// scan.
const CODE_BYTES: usize = 12;

/// What a code names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// An umbrella: its code rents it.
    Umbrella(i64),
    /// A store: its code returns an umbrella there.
    Store(i64),
}

impl Subject {
    fn message(self) -> String {
        match self {
            Self::Umbrella(id) => format!("upbrella-qr-v1:umbrella:{id}"),
            Self::Store(id) => format!("upbrella-qr-v1:store:{id}"),
        }
    }

    /// The page the code opens, with the code, relative to the site's origin.
    pub fn path(self, code: &str) -> String {
        match self {
            Self::Umbrella(id) => format!("/rent/{id}?code={code}"),
            Self::Store(id) => format!("/return/{id}?code={code}"),
        }
    }
}

/// The QR key when none is configured: derived from the bank key, so a deployment has
/// one secret to keep, yet a leaked QR code reveals nothing about the bank key.
pub fn derive_key(bank_key: &[u8; 32]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(bank_key).expect("HMAC takes any key length");
    mac.update(b"upbrella qr signing key v1");
    mac.finalize().into_bytes().into()
}

#[derive(Clone)]
pub struct CodeSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for CodeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeSigner([REDACTED])")
    }
}

impl CodeSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, subject: Subject) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(subject.message().as_bytes());
        mac
    }

    pub fn sign(&self, subject: Subject) -> String {
        let tag = self.mac(subject).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..CODE_BYTES])
    }

    /// Checks a presented code in constant time.
    pub fn verify(&self, subject: Subject, presented: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
            return false;
        };
        tag.len() == CODE_BYTES && self.mac(subject).verify_truncated_left(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_names_one_subject_under_one_key() {
        let signer = CodeSigner::new([7; 32]);
        let code = signer.sign(Subject::Umbrella(12));
        assert_eq!(code.len(), 16);
        assert!(signer.verify(Subject::Umbrella(12), &code));
        assert!(!signer.verify(Subject::Umbrella(13), &code));
        assert!(
            !signer.verify(Subject::Store(12), &code),
            "a store code is not an umbrella code"
        );
        assert!(!CodeSigner::new([8; 32]).verify(Subject::Umbrella(12), &code));
        assert!(!signer.verify(Subject::Umbrella(12), &code[..15]));
        assert!(!signer.verify(Subject::Umbrella(12), ""));
        assert!(!signer.verify(Subject::Umbrella(12), "not base64!"));
        assert_eq!(
            Subject::Store(3).path(&code),
            format!("/return/3?code={code}")
        );
    }

    #[test]
    fn the_derived_key_is_neither_the_bank_key_nor_constant() {
        let a = derive_key(&[1; 32]);
        assert_ne!(a, [1; 32]);
        assert_ne!(a, derive_key(&[2; 32]));
    }
}

//! Bank accounts for deposit refunds: parsed at the edge, encrypted at rest with
//! AES-256-GCM (an AEAD: tampering is detected, unlike the original's AES-CBC).
//!
//! Stored form: a version byte (2), a random 96-bit nonce, then ciphertext and tag. The
//! version byte leaves room for key rotation.
//!
//! Each ciphertext is bound to the row that holds it: the row's table and id are the
//! AEAD's associated data. Someone who can write the database (but not read the key)
//! therefore cannot move one user's sealed account onto another row to have a refund
//! paid to it; a moved ciphertext fails to decrypt. (Version 1, without this binding,
//! never reached production and is not read.)

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::error::Error;

const VERSION: u8 = 2;
const NONCE_LEN: usize = 12;

/// A bank name and account number as entered by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub bank_name: String,
    pub number: String,
}

impl BankAccount {
    /// Bank name: 1 to 30 characters. Number: 6 to 30 digits, hyphens allowed between.
    pub fn parse(bank_name: &str, number: &str) -> Result<Self, Error> {
        let bank_name = bank_name.trim();
        if !(1..=30).contains(&bank_name.chars().count()) || bank_name.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "invalid_bank_name",
                "은행 이름은 1자 이상 30자 이하로 입력해 주세요.",
            ));
        }
        let number = number.trim();
        let digits = number.chars().filter(char::is_ascii_digit).count();
        let valid = number.chars().all(|c| c.is_ascii_digit() || c == '-')
            && !number.starts_with('-')
            && !number.ends_with('-')
            && (6..=30).contains(&digits);
        if !valid {
            return Err(Error::invalid(
                "invalid_account_number",
                "계좌번호는 숫자 6~30자리로 입력해 주세요. (- 포함 가능)",
            ));
        }
        Ok(Self {
            bank_name: bank_name.to_owned(),
            number: number.to_owned(),
        })
    }
}

/// The row a sealed bank account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    User(i64),
    Rental(i64),
    /// A locker's HOTP secret.
    Locker(i64),
}

impl Owner {
    fn associated_data(self) -> String {
        match self {
            Self::User(id) => format!("upbrella/users/{id}/bank_account"),
            Self::Rental(id) => format!("upbrella/rentals/{id}/bank_account"),
            Self::Locker(id) => format!("upbrella/lockers/{id}/secret"),
        }
    }
}

#[derive(Clone)]
pub struct BankCipher {
    cipher: Aes256Gcm,
}

impl BankCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    pub fn encrypt(&self, plaintext: &str, owner: Owner) -> Result<Vec<u8>, Error> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = owner.associated_data();
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| Error::internal("bank account encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn decrypt(&self, stored: &[u8], owner: Owner) -> Result<String, Error> {
        let (version, rest) = stored
            .split_first()
            .ok_or_else(|| Error::internal("empty encrypted bank account"))?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(Error::internal("unknown encrypted bank account format"));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let aad = owner.associated_data();
        let payload = Payload {
            msg: ciphertext,
            aad: aad.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| {
                Error::internal(
                    "bank account decryption failed (wrong key, tampered data, or moved from another row)",
                )
            })?;
        String::from_utf8(plain).map_err(Error::internal)
    }
}

/// How a bank account is shown back: all but the last four digits masked.
pub fn mask(number: &str) -> String {
    let total = number.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    number
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 4 <= total { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_never_repeats() {
        let c = BankCipher::new(&[7; 32]);
        let a = c
            .encrypt("110-123-456789", Owner::User(1))
            .expect("encrypt");
        let b = c
            .encrypt("110-123-456789", Owner::User(1))
            .expect("encrypt");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(
            !a.windows(6).any(|w| w == b"110-12"),
            "plaintext must not appear"
        );
        assert_eq!(
            c.decrypt(&a, Owner::User(1)).expect("decrypt"),
            "110-123-456789"
        );
    }

    #[test]
    fn tampering_or_a_wrong_key_is_detected() {
        let c = BankCipher::new(&[7; 32]);
        let mut a = c
            .encrypt("110-123-456789", Owner::User(1))
            .expect("encrypt");
        let last = a.len() - 1;
        a[last] ^= 1;
        assert!(c.decrypt(&a, Owner::User(1)).is_err());
        let good = c
            .encrypt("110-123-456789", Owner::User(1))
            .expect("encrypt");
        assert!(
            BankCipher::new(&[8; 32])
                .decrypt(&good, Owner::User(1))
                .is_err()
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_row_does_not_decrypt() {
        let c = BankCipher::new(&[7; 32]);
        let sealed = c
            .encrypt("110-123-456789", Owner::User(1))
            .expect("encrypt");
        assert!(c.decrypt(&sealed, Owner::User(2)).is_err());
        assert!(c.decrypt(&sealed, Owner::Rental(1)).is_err());
        assert!(c.decrypt(&sealed, Owner::User(1)).is_ok());
    }

    #[test]
    fn masking_keeps_the_last_four_digits() {
        assert_eq!(mask("110-123-456789"), "***-***-**6789");
    }

    #[test]
    fn account_numbers_are_checked() {
        assert!(BankAccount::parse("신한", "110-123-456789").is_ok());
        assert!(BankAccount::parse("", "110123456").is_err());
        assert!(BankAccount::parse("신한", "12-34").is_err());
        assert!(BankAccount::parse("신한", "110123abc").is_err());
    }
}

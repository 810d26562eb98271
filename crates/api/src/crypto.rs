//! Secrets at rest: AES-256-GCM under the master key, with a key id for rotation, and the
//! hashing of API tokens.
//!
//! A sealed value is `v2.<kid>.<base64url(nonce || ciphertext)>`: the key id (the first bytes of
//! SHA-256 of the key) picks the key on open, so old ciphertexts stay readable while
//! `previous_master_keys` still lists the key they were sealed with. The place a value is
//! stored — table, column, owner and row, a [`SealedAt`] — is its associated data: a value
//! copied into another row, column or user's account fails to open instead of being used on
//! that row's behalf. Values sealed before that binding (`v1.`, no associated data) open only
//! through [`SecretBox::open_unbound_v1`], which [`crate::reseal`] uses once to bind them.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Where a sealed value is stored; bound into its ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedAt<'a> {
    /// The table, e.g. `user_keys`.
    pub table: &'static str,
    /// The column, e.g. `value_enc`.
    pub column: &'static str,
    /// The user who owns the row.
    pub owner: Uuid,
    /// The row's own key within the owner's rows (an id, or a natural key such as a provider).
    pub row: &'a str,
}

impl SealedAt<'_> {
    /// The associated data: every part length-prefixed, so no two places encode alike.
    fn aad(&self) -> Vec<u8> {
        let owner = self.owner.to_string();
        let mut out = b"drydock-sealed-v2".to_vec();
        for part in [self.table, self.column, owner.as_str(), self.row] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// The keys that seal and open secrets. The first key seals; all of them open.
#[derive(Clone)]
pub struct SecretBox {
    keys: Vec<(String, Aes256Gcm)>,
    /// Raw bytes of the current key, for deriving the cookie signing key.
    current: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("kids", &self.keys.iter().map(|k| &k.0).collect::<Vec<_>>())
            .finish()
    }
}

fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::digest(key);
    URL_SAFE_NO_PAD.encode(&digest[..6])
}

/// Decodes a base64 master key of exactly 32 bytes.
pub fn decode_key(encoded: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim()))
        .context("the master key is not valid base64")?;
    bytes
        .try_into()
        .map_err(|_| anyhow!("the master key must be 32 bytes (base64 of 32 random bytes)"))
}

impl SecretBox {
    /// Builds the box from the current key and any previous ones.
    pub fn new(current: [u8; 32], previous: &[[u8; 32]]) -> Self {
        let keys = std::iter::once(&current)
            .chain(previous)
            .map(|k| (key_id(k), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(k))))
            .collect();
        Self { keys, current }
    }

    /// Builds the box from configuration values.
    pub fn from_config(current: &SecretString, previous: &[SecretString]) -> anyhow::Result<Self> {
        let current = decode_key(current.expose_secret())?;
        let previous = previous
            .iter()
            .map(|k| decode_key(k.expose_secret()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self::new(current, &previous))
    }

    /// Raw bytes of the current key.
    pub fn current_key(&self) -> &[u8; 32] {
        &self.current
    }

    /// Encrypts `plaintext` for the place `at`.
    pub fn seal(&self, at: &SealedAt<'_>, plaintext: &str) -> anyhow::Result<String> {
        let (kid, cipher) = self.keys.first().ok_or_else(|| anyhow!("no master key"))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = at.aad();
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: &aad })
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!("{V2}.{kid}.{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Decrypts a value that [`SecretBox::seal`] sealed for the same place `at`.
    pub fn open(&self, at: &SealedAt<'_>, sealed: &str) -> anyhow::Result<SecretString> {
        if sealed.starts_with("v1.") {
            bail!("sealed value is not bound to its row yet (v1); `drydock migrate` binds it");
        }
        self.decrypt(sealed, V2, &at.aad())
    }

    /// Decrypts a value sealed before values were bound to their rows. Only the one-time
    /// re-sealing ([`crate::reseal`]) calls this.
    pub(crate) fn open_unbound_v1(&self, sealed: &str) -> anyhow::Result<SecretString> {
        self.decrypt(sealed, "v1", b"")
    }

    /// Whether `sealed` is in the current, row-bound format.
    pub fn is_bound(sealed: &str) -> bool {
        sealed.starts_with("v2.")
    }

    fn decrypt(&self, sealed: &str, version: &str, aad: &[u8]) -> anyhow::Result<SecretString> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(v), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("unrecognised sealed value");
        };
        if v != version {
            bail!("unrecognised sealed value");
        }
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| anyhow!("sealed with an unknown master key ({kid})"))?;
        let blob = URL_SAFE_NO_PAD.decode(body).context("sealed value is not base64")?;
        if blob.len() < 12 {
            bail!("sealed value is truncated");
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
            .map_err(|_| {
                anyhow!("sealed value failed authentication (tampered, or not sealed for this row)")
            })?;
        Ok(SecretString::from(String::from_utf8(plain).context("sealed value is not UTF-8")?))
    }
}

/// The prefix of row-bound sealed values.
const V2: &str = "v2";

/// A fresh random key, base64-encoded.
pub fn generate_key() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    STANDARD.encode(key)
}

/// Reads the master key file in `data_dir`, creating it (mode 0600) when missing.
/// Returns the key and whether it was just generated.
pub fn load_or_create_key_file(data_dir: &Path) -> anyhow::Result<(SecretString, bool)> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(existing) => {
            decode_key(&existing).with_context(|| format!("reading {}", path.display()))?;
            Ok((SecretString::from(existing.trim().to_owned()), false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let key = generate_key();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(key.as_bytes())?;
            Ok((SecretString::from(key), true))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A random URL-safe token with `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a token, as stored in the database. Tokens carry 256 bits of entropy, so a fast
/// hash is enough: there is nothing to brute-force.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(row: &str) -> SealedAt<'_> {
        SealedAt { table: "user_keys", column: "value_enc", owner: Uuid::nil(), row }
    }

    #[test]
    fn seal_then_open_round_trips_and_rotation_keeps_old_values_readable() {
        let old = SecretBox::new([1; 32], &[]);
        let sealed = old.seal(&at("anthropic"), "ghp_secret").unwrap();
        assert!(sealed.starts_with("v2.") && !sealed.contains("ghp_secret"));
        let rotated = SecretBox::new([2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&at("anthropic"), &sealed).unwrap().expose_secret(), "ghp_secret");
        let resealed = rotated.seal(&at("anthropic"), "x").unwrap();
        assert!(
            old.open(&at("anthropic"), &resealed).is_err(),
            "the old box cannot know the new key"
        );
    }

    #[test]
    fn a_value_opens_only_where_it_was_sealed() {
        let sb = SecretBox::new([4; 32], &[]);
        let here = at("anthropic");
        let sealed = sb.seal(&here, "sk-ant-1").unwrap();
        let elsewhere = [
            SealedAt { row: "openai", ..here },
            SealedAt { owner: Uuid::from_u128(7), ..here },
            SealedAt { column: "other_enc", ..here },
            SealedAt { table: "connectors", ..here },
        ];
        for place in elsewhere {
            assert!(sb.open(&place, &sealed).is_err(), "opened at {place:?}");
        }
        assert_eq!(sb.open(&here, &sealed).unwrap().expose_secret(), "sk-ant-1");
    }

    #[test]
    fn length_prefixes_keep_places_apart() {
        let a = SealedAt { table: "t", column: "ab", owner: Uuid::nil(), row: "c" };
        let b = SealedAt { table: "t", column: "a", owner: Uuid::nil(), row: "bc" };
        assert_ne!(a.aad(), b.aad());
    }

    #[test]
    fn unbound_v1_values_do_not_open_as_bound_ones() {
        let sb = SecretBox::new([5; 32], &[]);
        let cipher = &sb.keys[0].1;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut blob = nonce.to_vec();
        blob.extend(cipher.encrypt(&nonce, b"old".as_slice()).unwrap());
        let v1 = format!("v1.{}.{}", sb.keys[0].0, URL_SAFE_NO_PAD.encode(blob));
        assert!(sb.open(&at("x"), &v1).is_err());
        assert_eq!(sb.open_unbound_v1(&v1).unwrap().expose_secret(), "old");
        let v2 = sb.seal(&at("x"), "new").unwrap();
        assert!(sb.open_unbound_v1(&v2).is_err(), "a bound value is never opened unbound");
    }

    #[test]
    fn tampering_is_detected() {
        let sb = SecretBox::new([3; 32], &[]);
        let mut sealed = sb.seal(&at("x"), "value").unwrap();
        let last = sealed.pop().unwrap();
        sealed.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sb.open(&at("x"), &sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(decode_key(&STANDARD.encode([0u8; 16])).is_err());
        assert!(decode_key(&generate_key()).is_ok());
    }
}

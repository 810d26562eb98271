//! Secrets at rest: AES-256-GCM under the master key, with a key id for rotation, and the
//! hashing of API tokens.
//!
//! A sealed value is `v1.<kid>.<base64url(nonce || ciphertext)>`: the key id (the first bytes of
//! SHA-256 of the key) picks the key on open, so old ciphertexts stay readable while
//! `previous_master_keys` still lists the key they were sealed with.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

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

    /// Encrypts `plaintext`.
    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let (kid, cipher) = self.keys.first().ok_or_else(|| anyhow!("no master key"))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!("v1.{kid}.{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    /// Decrypts a value produced by [`SecretBox::seal`].
    pub fn open(&self, sealed: &str) -> anyhow::Result<SecretString> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("unrecognised sealed value");
        };
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
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow!("sealed value failed authentication"))?;
        Ok(SecretString::from(String::from_utf8(plain).context("sealed value is not UTF-8")?))
    }
}

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

    #[test]
    fn seal_then_open_round_trips_and_rotation_keeps_old_values_readable() {
        let old = SecretBox::new([1; 32], &[]);
        let sealed = old.seal("ghp_secret").unwrap();
        assert!(!sealed.contains("ghp_secret"));
        let rotated = SecretBox::new([2; 32], &[[1; 32]]);
        assert_eq!(rotated.open(&sealed).unwrap().expose_secret(), "ghp_secret");
        let resealed = rotated.seal("x").unwrap();
        assert!(old.open(&resealed).is_err(), "the old box cannot know the new key");
    }

    #[test]
    fn tampering_is_detected() {
        let sb = SecretBox::new([3; 32], &[]);
        let mut sealed = sb.seal("value").unwrap();
        let last = sealed.pop().unwrap();
        sealed.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sb.open(&sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(decode_key(&STANDARD.encode([0u8; 16])).is_err());
        assert!(decode_key(&generate_key()).is_ok());
    }
}

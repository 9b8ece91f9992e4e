//! A fixed key set held as SHA-256 digests, compared in constant time.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AuthedKey, KeyStore, NamedKey};
use crate::error::ApiError;

/// Keys from `CHATRIX_API_KEYS`, kept as digests.
pub struct StaticKeys {
    digests: Vec<(Digest32, AuthedKey)>,
}

impl StaticKeys {
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn new(keys: &[NamedKey]) -> Self {
        Self {
            digests: keys
                .iter()
                .map(|k| {
                    let who = AuthedKey {
                        name: Arc::from(k.name.as_str()),
                        limits: k.limits.clone(),
                        admin: k.admin,
                    };
                    (digest(&k.key), who)
                })
                .collect(),
        }
    }

    /// The key with this digest.
    pub(super) fn lookup(&self, d: &Digest32) -> Option<AuthedKey> {
        // Every entry is compared, match or not, so timing does not reveal which one matched.
        let mut found = None;
        for (candidate, who) in &self.digests {
            if bool::from(candidate.ct_eq(d)) {
                found = Some(who.clone());
            }
        }
        found
    }
}

impl KeyStore for StaticKeys {
    async fn validate(&self, presented: &SecretString) -> Result<Option<AuthedKey>, ApiError> {
        Ok(self.lookup(&digest(presented)))
    }
}

/// A key's SHA-256 digest: what the stores keep and compare instead of the key.
pub(super) type Digest32 = [u8; 32];

pub(super) fn digest(key: &SecretString) -> Digest32 {
    Sha256::digest(key.expose_secret().as_bytes()).into()
}

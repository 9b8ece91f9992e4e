//! API-key authentication: where the key comes from, and the key stores.
//!
//! The key is read from `x-api-key` or `Authorization: Bearer` (the Anthropic SDKs and Claude Code
//! use either). The middleware runs before any body is read. Keys are `SecretString`s; only a key's
//! *name* ever reaches logs. Comparison hashes both sides and compares digests in constant time, so
//! neither content nor length leaks through timing.
//!
//! - [`static_keys`]: `CHATRIX_API_KEYS`, for local use.
//! - [`secrets`]: a secret's key set behind a bounded moka cache ([`aws_secret`] reads it from
//!   Secrets Manager when `CHATRIX_API_KEY_SECRET_ID` is set).
//! - [`Keys`]: what the gateway uses — the static keys, then the secret's.
//! - [`origin`]: the CloudFront origin secret (`CHATRIX_ORIGIN_SECRET`), checked before the key.

mod aws_secret;
pub mod keyfile;
pub mod limits;
pub mod origin;
pub mod secrets;
mod static_keys;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

pub use aws_secret::AwsSecret;
pub use secrets::SecretKeys;
pub use static_keys::StaticKeys;

use crate::config::Config;
use crate::error::ApiError;

/// A configured key, the name logs use for it, and its limits (object form of the key store).
#[derive(Clone)]
pub struct NamedKey {
    pub name: String,
    pub key: SecretString,
    pub limits: Option<Arc<limits::KeyLimits>>,
    /// An admin key (`CHATRIX_ADMIN_KEYS`, `admin_keys`): reads the usage and cost reports, calls
    /// no model.
    pub admin: bool,
}

impl std::fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedKey")
            .field("name", &self.name)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// Who made the request; inserted into request extensions after authentication.
#[derive(Debug, Clone)]
pub struct AuthedKey {
    pub name: Arc<str>,
    pub limits: Option<Arc<limits::KeyLimits>>,
    pub admin: bool,
}

/// The seam every key store implements (static list now, Secrets Manager later).
pub trait KeyStore: Send + Sync + 'static {
    /// Returns the key's name and limits when the key is valid.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when the store cannot answer (never a 401 for that).
    fn validate(
        &self,
        presented: &SecretString,
    ) -> impl std::future::Future<Output = Result<Option<AuthedKey>, ApiError>> + Send;
}

/// The gateway's key store: `CHATRIX_API_KEYS` first, then the Secrets Manager secret if set.
pub struct Keys {
    fixed: StaticKeys,
    secret: Option<SecretKeys<AwsSecret>>,
}

impl Keys {
    /// Builds the stores; fetches nothing (the secret is read on the first request).
    pub fn from_config(cfg: &Config) -> Self {
        Self {
            fixed: StaticKeys::new(&cfg.api_keys),
            secret: cfg
                .key_store
                .secret_id
                .clone()
                .map(|id| SecretKeys::new(AwsSecret::new(id), cfg.key_store.clone())),
        }
    }
}

impl KeyStore for Keys {
    async fn validate(&self, presented: &SecretString) -> Result<Option<AuthedKey>, ApiError> {
        let fixed = self.fixed.validate(presented).await?;
        let Some(secret) = &self.secret else {
            return Ok(fixed);
        };
        match fixed {
            // An admin key from the environment must not also be a developer's key in the secret
            // (each source is checked on its own at load, `check_roles_distinct`); only admin
            // calls pay this second look-up.
            Some(who) if who.admin => match secret.validate(presented).await {
                Ok(Some(other)) if !other.admin => Err(role_clash(&who, &other)),
                _ => Ok(Some(who)),
            },
            Some(who) => Ok(Some(who)),
            None => secret.validate(presented).await,
        }
    }
}

/// The refusal for a key that is an admin key in one source and an API key in the other. Names
/// only, never the key.
fn role_clash(admin: &AuthedKey, api: &AuthedKey) -> ApiError {
    tracing::error!(
        admin_key = %admin.name,
        api_key = %api.name,
        "one key string is an admin key in the environment and an API key in the secret; refused"
    );
    ApiError::Permission(format!(
        "this key is configured both as admin key `{}` and as API key `{}`; an administrator must \
         give them different keys",
        admin.name, api.name
    ))
}

/// Makes sure some key can authenticate: the configured ones, or in emulator mode a fresh demo key
/// (returned so `main` can print it). Against real AWS, no keys is a start-up error: a gateway that
/// spends Bedrock money must not be open.
///
/// # Errors
/// When no key is configured and the gateway talks to AWS.
pub fn ensure_demo_key(
    cfg: &mut crate::config::Config,
) -> Result<Option<String>, crate::config::ConfigError> {
    if !cfg.api_keys.is_empty() || cfg.key_store.secret_id.is_some() {
        return Ok(None);
    }
    if cfg.bedrock_mode == crate::config::BedrockMode::Aws {
        return Err(crate::config::ConfigError {
            var: "CHATRIX_API_KEYS",
            message: "no API keys configured; set CHATRIX_API_KEY_SECRET_ID (Secrets Manager) or \
                      CHATRIX_API_KEYS (e.g. `alice:sk-...`)"
                .into(),
        });
    }
    let key = format!("sk-chatrix-demo-{}", uuid::Uuid::new_v4().simple());
    cfg.api_keys.push(NamedKey {
        name: "demo".into(),
        key: SecretString::from(key.clone()),
        limits: None,
        admin: false,
    });
    Ok(Some(key))
}

/// The presented key: `x-api-key` first, then `Authorization: Bearer`.
pub fn presented_key(headers: &HeaderMap) -> Option<SecretString> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !v.is_empty() {
            return Some(SecretString::from(v.to_owned()));
        }
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SecretString::from(token.to_owned()))
}

/// Refuses a key string held both by an admin key and by an API key. The first match would
/// decide the role, so a report key could call models, or a developer's key read every key's
/// spend, depending on list order. Names only in the message, never the key.
///
/// # Errors
/// The two names that share a key.
pub fn check_roles_distinct(keys: &[NamedKey]) -> Result<(), String> {
    use secrecy::ExposeSecret;
    let admins: HashMap<&str, &str> = keys
        .iter()
        .filter(|k| k.admin)
        .map(|k| (k.key.expose_secret(), k.name.as_str()))
        .collect();
    match keys
        .iter()
        .filter(|k| !k.admin)
        .find_map(|k| admins.get(k.key.expose_secret()).map(|a| (&k.name, a)))
    {
        Some((api, admin)) => Err(format!(
            "admin key `{admin}` and API key `{api}` are the same key: an admin key reads the \
             reports and calls no model, so it must differ from every API key"
        )),
        None => Ok(()),
    }
}

/// Middleware: authenticate before anything reads the body.
pub async fn require_key<S: KeyStore>(
    State(store): State<Arc<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(key) = presented_key(request.headers()) else {
        return ApiError::Authentication(
            "missing API key: send `x-api-key` or `Authorization: Bearer`".into(),
        )
        .into_response();
    };
    match store.validate(&key).await {
        Ok(Some(who)) => {
            tracing::Span::current().record("key", &*who.name);
            request.extensions_mut().insert(who.clone());
            let mut response = next.run(request).await;
            // The request log reads it from the response: the request is gone by then.
            response.extensions_mut().insert(who);
            response
        }
        Ok(None) => ApiError::Authentication("invalid x-api-key".into()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use secrecy::ExposeSecret;

    fn keys() -> StaticKeys {
        StaticKeys::new(&[
            NamedKey {
                name: "alice".into(),
                key: SecretString::from("sk-alice".to_owned()),
                limits: None,
                admin: false,
            },
            NamedKey {
                name: "ci".into(),
                key: SecretString::from("sk-ci".to_owned()),
                limits: None,
                admin: false,
            },
        ])
    }

    #[tokio::test]
    async fn valid_keys_resolve_to_their_names_and_others_do_not() {
        let store = keys();
        for (presented, want) in [
            ("sk-ci", Some("ci")),
            ("sk-alice", Some("alice")),
            ("sk-alic", None),
            ("", None),
        ] {
            let got = store
                .validate(&SecretString::from(presented.to_owned()))
                .await
                .expect("static store answers");
            assert_eq!(got.map(|k| k.name).as_deref(), want, "{presented}");
        }
    }

    #[test]
    fn key_is_taken_from_x_api_key_or_bearer() {
        let mut h = HeaderMap::new();
        assert!(presented_key(&h).is_none());
        h.insert("authorization", HeaderValue::from_static("Bearer  tok-1 "));
        assert_eq!(presented_key(&h).expect("bearer").expose_secret(), "tok-1");
        h.insert("x-api-key", HeaderValue::from_static("sk-2"));
        assert_eq!(
            presented_key(&h).expect("x-api-key wins").expose_secret(),
            "sk-2"
        );
        let mut basic = HeaderMap::new();
        basic.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert!(presented_key(&basic).is_none());
    }

    #[test]
    fn debug_output_never_shows_a_key() {
        let k = NamedKey {
            name: "alice".into(),
            key: SecretString::from("sk-very-secret".to_owned()),
            limits: None,
            admin: false,
        };
        let shown = format!("{k:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("alice"));
    }
}

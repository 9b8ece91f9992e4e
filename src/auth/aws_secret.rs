//! The AWS Secrets Manager source for [`super::secrets::SecretKeys`]: the crate's only
//! Secrets Manager I/O.
//!
//! The client is built on first use, not at start-up, and uses the standard AWS chain (region,
//! credentials, `AWS_ENDPOINT_URL_SECRETS_MANAGER`). Short timeouts and one retry: a request waits
//! on a load, and a failed load falls back to the last good key set.

use std::time::Duration;

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::secrets::{SecretSource, SourceError};

/// `GetSecretValue` on one secret (name or ARN).
pub struct AwsSecret {
    secret_id: String,
    client: OnceCell<Client>,
}

impl AwsSecret {
    pub fn new(secret_id: String) -> Self {
        Self {
            secret_id,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let sdk = crate::aws::store_config(crate::aws::Limits {
                    connect: Duration::from_secs(2),
                    attempt: Duration::from_secs(3),
                    operation: Duration::from_secs(7),
                    attempts: 2,
                })
                .await;
                Client::new(&sdk)
            })
            .await
    }
}

impl SecretSource for AwsSecret {
    async fn fetch(&self) -> Result<SecretString, SourceError> {
        // Boxed where it is made, as every SDK call on a request's path: an operation's future is
        // 7-24 KB, copied with each future that holds it (`routes::future_sizes_tests`).
        let out = Box::pin(
            self.client()
                .await
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send(),
        )
        .await
        .map_err(|e| SourceError(describe(&e)))?;
        if let Some(text) = out.secret_string {
            return Ok(SecretString::from(text));
        }
        let bytes = out.secret_binary.map(aws_smithy_types::Blob::into_inner);
        match bytes.map(String::from_utf8) {
            Some(Ok(text)) => Ok(SecretString::from(text)),
            Some(Err(_)) => Err(SourceError("the secret's binary value is not UTF-8".into())),
            None => Err(SourceError("the secret has no value".into())),
        }
    }

    fn describe(&self) -> &str {
        &self.secret_id
    }
}

/// The error code and message AWS gave (never the secret), or the transport failure.
fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

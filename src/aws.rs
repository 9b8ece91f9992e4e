//! The AWS SDK configuration of the gateway's own stores (Secrets Manager for keys, DynamoDB for
//! the ledger): the standard chain (region, credentials, `AWS_ENDPOINT_URL_*`) with short limits,
//! because a request waits on them. Bedrock's clients are configured in [`crate::bedrock`].

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// How long a store call may take, and how many attempts it gets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    /// 1 for calls that are not idempotent (a retried `UpdateItem ADD` after a lost answer
    /// would count twice).
    pub attempts: u32,
}

/// Loads the standard AWS configuration with `limits`. Boxed: the loader's future is about 11 KB,
/// and the stores load lazily, so without the box it would be part of every request's future
/// that may reach a store (authentication, spend admission), and copied with it.
pub async fn store_config(limits: Limits) -> SdkConfig {
    let load = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(limits.attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(limits.connect)
                .operation_attempt_timeout(limits.attempt)
                .operation_timeout(limits.operation)
                .build(),
        )
        .load();
    Box::pin(load).await
}

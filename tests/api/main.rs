//! Integration tests: the real server on port 0, the real `aws-sdk-bedrockruntime` client, and the
//! Bedrock emulator as the upstream. One binary for all API tests.

#![expect(
    clippy::expect_used,
    reason = "test set-up helpers fail the test by panicking"
)]

mod bad_input;
mod count_tokens;
mod discovery;
mod faults;
mod helpers;
mod limits;
mod messages;
mod models;
mod origin;
mod routes;
mod streaming;

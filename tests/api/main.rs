//! Integration tests: the real server on port 0, the real `aws-sdk-bedrockruntime` client, and the
//! Bedrock emulator as the upstream. One binary for all API tests.

#![expect(
    clippy::expect_used,
    reason = "test set-up helpers fail the test by panicking"
)]

mod bad_input;
mod claude_code_replay;
mod count_tokens;
mod count_tokens_invoke;
mod count_tokens_mantle;
mod current_models;
mod deadline;
mod discovery;
mod failover;
mod faults;
mod helpers;
mod limits;
mod messages;
mod models;
mod native;
mod native_checklist;
mod native_checklist_errors;
mod native_checklist_wire;
mod native_refusals;
mod origin;
mod output_cap;
mod passthrough;
mod passthrough_spend;
mod reports;
mod routes;
mod spend;
mod streaming;

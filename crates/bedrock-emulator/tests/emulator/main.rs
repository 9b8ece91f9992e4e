//! The Bedrock emulator driven by the real `aws-sdk-bedrockruntime` client: requests are built
//! with the SDK's typed builders, so its serializer must pass the emulator's strict parser, and
//! responses must pass the SDK's deserializers and event-stream decoder. One binary for all
//! emulator tests.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail loudly when setup or a call goes wrong"
)]

mod converse;
mod converse_rules;
mod helpers;
mod http;
mod invoke;
mod invoke_rules;
mod mantle;
mod native;
mod profiles;
mod stream;
mod throttle;
mod validation;

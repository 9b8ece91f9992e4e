//! Bedrock pass-through mode, pure: what the `/model/{model}/…` and `/inference-profiles` routes
//! need besides I/O. Claude Code with `CLAUDE_CODE_USE_BEDROCK=1` and
//! `ANTHROPIC_BEDROCK_BASE_URL` pointing here (and boto3 with `endpoint_url`) speak Bedrock's own
//! runtime protocol; these routes answer it with Bedrock's bytes, not the Anthropic API's.
//!
//! - [`path`]: `/model/{model}/{operation}` split and decoded;
//! - [`fault`]: Bedrock's errors as Bedrock writes them (status, `x-amzn-errortype`,
//!   `{"message":…}`, exception frames), also for the gateway's own refusals;
//! - [`meter`]: usage read from the relayed chunks or Message, for the cost;
//! - [`profiles`]: `ListInferenceProfiles` / `GetInferenceProfile` answers from what the gateway
//!   knows.
//!
//! Nothing here does I/O or logs; the route module is `routes::bedrock_passthrough`, the Bedrock
//! calls are in `bedrock::passthrough`.

pub mod fault;
pub mod meter;
pub mod path;
pub mod profiles;

pub use fault::Fault;

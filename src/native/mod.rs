//! Claude through Bedrock's native Anthropic path (InvokeModel / InvokeModelWithResponseStream):
//! the client's body with named changes ([`request`]), the same body as a CountTokens input
//! ([`count`]), Bedrock's Anthropic events relayed as SSE ([`stream`]), its Message relayed with
//! the cost added ([`response`]), and its errors unwrapped with their wording unchanged
//! ([`errors`]); betas and fields Bedrock refused are learned and removed ([`learned`]).
//!
//! Pure: no I/O and no logging of content. Bedrock calls are in [`crate::bedrock`]; the handler in
//! `routes::native` wires them together. Reference: NATIVE.md (shared), `docs/api.md`.

pub mod cache_control;
pub mod count;
pub mod errors;
pub mod learned;
pub mod request;
pub mod response;
mod sources;
pub mod splice;
pub mod stream;
mod system_turns;
pub mod usage;

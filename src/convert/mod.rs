//! Pure conversions between the Anthropic Messages API and Bedrock Converse.
//!
//! Nothing here does I/O or logs request content; every function is deterministic so it can be
//! tested table-driven and by snapshot.

pub mod request;
pub mod response;
pub mod stream;
pub mod tools;

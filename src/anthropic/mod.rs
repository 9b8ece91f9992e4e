//! Anthropic Messages API wire types (serde only; no conversion logic here).

pub mod events;
pub mod request;
pub mod response;

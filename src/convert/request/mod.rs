//! Anthropic Messages request → Bedrock Converse request body.
//!
//! Owns the fate of every field and block of an Anthropic request: converted, dropped on purpose
//! (named in [`ConverseRequest::dropped`]), or rejected with a 400 whose message names the field.
//! The output is the Converse JSON body (camelCase, as on the wire) with object key order preserved:
//! tool schemas and tool inputs sit in the cached prompt prefix, so their order must not change
//! between requests. Pure and synchronous: no I/O, and nothing here logs; callers may log `dropped`,
//! which holds names only, never content.
//!
//! Layout: `blocks` converts content blocks, `sources` checks their blobs, media types and
//! document names, `hygiene` enforces the turn structure Bedrock insists on, `tools_config` builds
//! `toolConfig`, `cache` places and clamps cache points, `params` covers sampling, thinking, betas
//! and output settings.

mod blocks;
mod cache;
mod hygiene;
mod params;
mod sources;
mod tools_config;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use crate::anthropic::request::MessagesRequest;
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;
use crate::models::{Capabilities, ResolvedModel};

use cache::Ttl;

#[derive(Debug, Clone, Copy)]
pub struct ConvertOptions<'a> {
    pub model: &'a ResolvedModel<'a>,
    /// Raw `anthropic-beta` header values (each may be a comma list; duplicates possible).
    pub betas: &'a [String],
    /// Remove Claude Code's per-build `x-anthropic-billing-header:` system block (default on).
    pub strip_billing_header: bool,
}

#[derive(Debug, Clone)]
pub struct ConverseRequest {
    /// Converse JSON body (everything except `modelId`), object key order preserved.
    pub body: Value,
    /// Restores original tool names in responses.
    pub tool_names: ToolNameMap,
    /// Stop sequences the client asked for (to fill `stop_sequence` if Bedrock omits it).
    pub stop_sequences: Vec<String>,
    /// Names of fields/blocks dropped on purpose (for debug logs; never content).
    pub dropped: Vec<String>,
}

/// Builds the Converse body for `Converse` / `ConverseStream`.
///
/// # Errors
/// [`ApiError::InvalidRequest`] naming the field, for input Bedrock cannot take and that cannot be
/// dropped without changing the meaning of the request (bad base64, unsupported media types, an
/// out-of-range parameter, tools for a model without tool use, …).
pub fn to_converse(
    req: &MessagesRequest,
    opts: &ConvertOptions<'_>,
) -> Result<ConverseRequest, ApiError> {
    let mut ctx = Ctx::new(opts);
    let max_tokens = params::max_tokens(req)?;
    let (inference, stop_sequences) = params::inference_config(req, max_tokens, &mut ctx)?;
    let parts = build(req, opts, Some(max_tokens), &mut ctx)?;
    let output = params::output_config(req, &mut ctx)?;
    let metadata = params::request_metadata(req);

    let mut body = Map::new();
    body.insert("messages".into(), parts.messages);
    if let Some(system) = parts.system {
        body.insert("system".into(), system);
    }
    body.insert("inferenceConfig".into(), Value::Object(inference));
    if let Some(tool_config) = parts.tool_config {
        body.insert("toolConfig".into(), tool_config);
    }
    if let Some(fields) = parts.additional {
        body.insert("additionalModelRequestFields".into(), fields);
    }
    if ctx.caps.claude {
        // Both pointers: non-streaming responses carry `stop_sequence` at the top level, stream
        // `message_delta` events under `delta`. A valid pointer that matches nothing is ignored.
        body.insert(
            "additionalModelResponseFieldPaths".into(),
            json!(["/stop_sequence", "/delta/stop_sequence"]),
        );
    }
    if let Some(output) = output {
        body.insert("outputConfig".into(), output);
    }
    if let Some(metadata) = metadata {
        body.insert("requestMetadata".into(), metadata);
    }
    Ok(ConverseRequest {
        body: Value::Object(body),
        tool_names: ctx.names,
        stop_sequences,
        dropped: ctx.dropped.0,
    })
}

/// Body for Bedrock `CountTokens`:
/// `{"input":{"converse":{messages, system, toolConfig, additionalModelRequestFields}}}`, built by
/// the same rules as [`to_converse`] (`max_tokens` is optional here).
///
/// # Errors
/// As [`to_converse`].
pub fn to_count_tokens(
    req: &MessagesRequest,
    opts: &ConvertOptions<'_>,
) -> Result<Value, ApiError> {
    let mut ctx = Ctx::new(opts);
    let max_tokens = match req.max_tokens {
        Some(_) => Some(params::max_tokens(req)?),
        None => None,
    };
    let parts = build(req, opts, max_tokens, &mut ctx)?;
    let mut converse = Map::new();
    converse.insert("messages".into(), parts.messages);
    if let Some(system) = parts.system {
        converse.insert("system".into(), system);
    }
    if let Some(tool_config) = parts.tool_config {
        converse.insert("toolConfig".into(), tool_config);
    }
    if let Some(fields) = parts.additional {
        converse.insert("additionalModelRequestFields".into(), fields);
    }
    Ok(object([(
        "input",
        object([("converse", Value::Object(converse))]),
    )]))
}

/// What `Converse` and `CountTokens` share.
struct Parts {
    messages: Value,
    system: Option<Value>,
    tool_config: Option<Value>,
    additional: Option<Value>,
}

fn build(
    req: &MessagesRequest,
    opts: &ConvertOptions<'_>,
    max_tokens: Option<u32>,
    ctx: &mut Ctx<'_>,
) -> Result<Parts, ApiError> {
    params::note_ignored_fields(req, ctx);
    let plan = tools_config::plan(req, ctx)?;
    let mut tool_items = plan.items;
    let mut system = blocks::system_items(req.system.as_ref(), opts.strip_billing_header, ctx)?;
    let mut turns = hygiene::turns(&req.messages, ctx)?;
    if let Some(cc) = &req.cache_control {
        // Automatic caching: one breakpoint after the last block of the last user turn. Not after
        // a prefill: the next request replaces it with the full answer, so it could never hit.
        let ttl = ctx.cache_marker(Some(cc));
        let last_user = turns
            .iter_mut()
            .rev()
            .find(|t| t.role == hygiene::Side::User);
        if let Some(last) = last_user.and_then(|t| t.items.last_mut()) {
            last.cache = last.cache.max(ttl);
        }
    }
    let markers = tool_items
        .iter_mut()
        .chain(system.iter_mut())
        .chain(turns.iter_mut().flat_map(|t| t.items.iter_mut()))
        .map(|item| &mut item.cache);
    if cache::clamp(markers) > 0 {
        ctx.drop_note("cache_control(over 4 breakpoints)");
    }

    let one_hour = ctx.caps.cache_ttl_1h;
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|t| {
            let content = Value::Array(cache::emit(t.items, one_hour));
            object([("role", json!(t.role.as_str())), ("content", content)])
        })
        .collect();
    ctx.unthought_tool_turn = unthought_tool_turn(&messages);
    let system = (!system.is_empty()).then(|| Value::Array(cache::emit(system, one_hour)));
    let tool_config = (!tool_items.is_empty()).then(|| {
        let mut config = Map::new();
        config.insert(
            "tools".into(),
            Value::Array(cache::emit(tool_items, one_hour)),
        );
        if let Some(choice) = plan.choice {
            config.insert("toolChoice".into(), choice);
        }
        Value::Object(config)
    });
    let additional = params::additional_fields(req, opts, max_tokens, ctx)?;
    Ok(Parts {
        messages: Value::Array(messages),
        system,
        tool_config,
        additional,
    })
}

/// Whether the last assistant turn uses a tool but does not start with a reasoning block.
fn unthought_tool_turn(messages: &[Value]) -> bool {
    let Some(last) = messages.iter().rev().find(|m| m["role"] == "assistant") else {
        return false;
    };
    let content = last["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let uses_tool = content.iter().any(|b| b.get("toolUse").is_some());
    let opens_with_reasoning = content
        .first()
        .is_some_and(|b| b.get("reasoningContent").is_some());
    uses_tool && !opens_with_reasoning
}

/// A JSON object made of owned values. `json!` serialises its arguments by reference, which would
/// deep-copy blobs and schemas that are already `Value`s; this moves them.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// Per-conversion state shared by the submodules.
struct Ctx<'a> {
    caps: Capabilities,
    model_name: &'a str,
    names: ToolNameMap,
    dropped: Dropped,
    documents: sources::DocumentNames,
    /// Every `tool_use` id seen so far in the conversation.
    tool_use_ids: HashSet<String>,
    /// The last assistant turn calls tools without opening with its reasoning (history from
    /// another model, or thinking switched on mid-conversation). Bedrock refuses thinking then.
    unthought_tool_turn: bool,
}

impl<'a> Ctx<'a> {
    fn new(opts: &'a ConvertOptions<'_>) -> Self {
        Self {
            caps: opts.model.capabilities,
            model_name: &opts.model.client_model,
            names: ToolNameMap::default(),
            dropped: Dropped::default(),
            documents: sources::DocumentNames::default(),
            tool_use_ids: HashSet::new(),
            unthought_tool_turn: false,
        }
    }

    fn drop_note(&mut self, name: impl Into<String>) {
        self.dropped.note(name.into());
    }

    /// Thinking blocks only mean something to (and are only accepted by) thinking Claude models.
    fn keeps_thinking(&self) -> bool {
        self.caps.claude && self.caps.thinking
    }

    /// The cache point a `cache_control` asks for, as far as the model supports it.
    fn cache_marker(
        &mut self,
        cc: Option<&crate::anthropic::request::CacheControl>,
    ) -> Option<Ttl> {
        let cc = cc?;
        if !self.caps.caching {
            self.drop_note("cache_control");
            return None;
        }
        if cc.ttl.as_deref() == Some("1h") {
            if self.caps.cache_ttl_1h {
                return Some(Ttl::OneHour);
            }
            self.drop_note("cache_control.ttl");
        }
        Some(Ttl::Default)
    }
}

/// Dropped names, each once, in first-seen order.
#[derive(Default)]
struct Dropped(Vec<String>);

impl Dropped {
    fn note(&mut self, name: String) {
        if !self.0.contains(&name) {
            self.0.push(name);
        }
    }
}

#[cfg(test)]
mod test_support {
    use std::sync::LazyLock;

    use serde_json::Value;

    use super::{to_converse, ConverseRequest, ConvertOptions};
    use crate::anthropic::request::parse_messages_request;
    use crate::error::ApiError;
    use crate::models::{Catalog, InferenceProfile};

    pub(super) static CATALOG: LazyLock<Catalog> =
        LazyLock::new(|| Catalog::embedded().expect("embedded catalog"));

    /// Parses `body` (with `model` inserted) and converts it for that model.
    pub(super) fn convert_with(
        model: &str,
        body: Value,
        betas: &[String],
    ) -> Result<ConverseRequest, ApiError> {
        convert_opts(model, body, betas, true)
    }

    pub(super) fn convert_opts(
        model: &str,
        mut body: Value,
        betas: &[String],
        strip_billing_header: bool,
    ) -> Result<ConverseRequest, ApiError> {
        body["model"] = Value::String(model.to_owned());
        if body.get("max_tokens").is_none() {
            body["max_tokens"] = Value::from(4096);
        }
        let resolved = CATALOG.resolve(model, InferenceProfile::Global)?;
        let req = parse_messages_request(body.to_string().as_bytes())?;
        let opts = ConvertOptions {
            model: &resolved,
            betas,
            strip_billing_header,
        };
        to_converse(&req, &opts)
    }

    pub(super) fn convert(model: &str, body: Value) -> Result<ConverseRequest, ApiError> {
        convert_with(model, body, &[])
    }

    /// The converted body, panicking (in tests) on a conversion error.
    pub(super) fn body(model: &str, request: Value) -> Value {
        match convert(model, request) {
            Ok(out) => out.body,
            Err(e) => panic!("conversion failed: {e}"),
        }
    }

    /// The 400 message, panicking if the conversion succeeds.
    pub(super) fn error(model: &str, request: Value) -> String {
        match convert(model, request) {
            Ok(out) => panic!("expected an error, got {}", out.body),
            Err(e) => {
                assert_eq!(e.kind(), "invalid_request_error", "{e}");
                e.to_string()
            }
        }
    }
}

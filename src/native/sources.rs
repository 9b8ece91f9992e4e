//! Where the `url` sources of a native body are, so the caller can inline their bytes (Bedrock
//! takes bytes only). Pure; tool inputs are never searched.

use serde_json::{Map, Value};

/// Every `url` image/document source in a body's `messages`, in the order the typed request's
/// `url_sources_mut` visits them (blocks, `tool_result` content, `content` documents), so that a
/// caller can replace each with its downloaded bytes. Tool inputs are never searched.
pub fn url_sources_mut(body: &mut Value) -> Vec<&mut Map<String, Value>> {
    let mut out = Vec::new();
    if let Some(Value::Array(messages)) = body.get_mut("messages") {
        for message in messages {
            if let Some(Value::Array(blocks)) = message.get_mut("content") {
                collect_url_sources(blocks, &mut out);
            }
        }
    }
    out
}

fn collect_url_sources<'a>(blocks: &'a mut [Value], out: &mut Vec<&'a mut Map<String, Value>>) {
    for block in blocks {
        let Some(block) = block.as_object_mut() else {
            continue;
        };
        let kind = block
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match kind {
            "image" | "document" => {
                let Some(Value::Object(source)) = block.get_mut("source") else {
                    continue;
                };
                match source.get("type").and_then(Value::as_str) {
                    Some("url") => out.push(source),
                    Some("content") => {
                        if let Some(Value::Array(inner)) = source.get_mut("content") {
                            collect_url_sources(inner, out);
                        }
                    }
                    _ => {}
                }
            }
            "tool_result" => {
                if let Some(Value::Array(inner)) = block.get_mut("content") {
                    collect_url_sources(inner, out);
                }
            }
            _ => {}
        }
    }
}

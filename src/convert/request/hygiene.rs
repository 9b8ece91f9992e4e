//! The turn structure Bedrock insists on, which Anthropic relaxes or fixes up server-side.
//!
//! - `role: "system"` messages (Claude Code's mid-conversation system messages) become user turns
//!   in place and are then merged like any other consecutive same-role turns. So a system message
//!   right after a user turn is appended to that turn, one right before a user turn is prepended
//!   to it, and one between two assistant turns stands as a user turn of its own. This keeps the
//!   text in chronological order and keeps the folding stable as the conversation grows, so the
//!   cached prefix does not change from one request to the next (folding into "the next user turn"
//!   would move the text once a later user turn appears). Claude Code does the same itself for
//!   Bedrock model ids.
//! - Consecutive same-role turns are merged (Anthropic merges them; Bedrock rejects them).
//! - A turn left without content gets a `"."` text; a final assistant turn left empty is removed
//!   instead, since an empty prefill means no prefill.
//! - A conversation that starts with an assistant turn gets a `"."` user turn in front: Bedrock
//!   requires user first, and a neutral placeholder serves clients that open with an assistant
//!   greeting where a 400 would only break them.
//! - A final assistant turn (prefill) loses trailing whitespace, which Anthropic rejects.
//! - In a user turn, tool results come first (stable order otherwise): Claude rejects text before
//!   the results of the previous turn's tool calls, and merging or folding can put it there.
//!
//! Pure: no I/O, and nothing here logs.

use serde_json::json;

use super::blocks;
use super::cache::Item;
use super::Ctx;
use crate::anthropic::request::{Message, Role};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    User,
    Assistant,
}

impl Side {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug)]
pub(super) struct Turn {
    pub(super) role: Side,
    pub(super) items: Vec<Item>,
}

pub(super) fn turns(messages: &[Message], ctx: &mut Ctx<'_>) -> Result<Vec<Turn>, ApiError> {
    if messages.is_empty() {
        return Err(ApiError::invalid(
            "messages: at least one message is required",
        ));
    }
    let mut turns = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let role = match message.role {
            Role::User | Role::System => Side::User,
            Role::Assistant => Side::Assistant,
        };
        let items = blocks::content_items(&message.content, &format!("messages.{i}.content"), ctx)?;
        turns.push(Turn { role, items });
    }
    Ok(normalize(turns))
}

fn normalize(turns: Vec<Turn>) -> Vec<Turn> {
    let mut merged: Vec<Turn> = Vec::with_capacity(turns.len());
    for turn in turns {
        match merged.last_mut() {
            Some(last) if last.role == turn.role => last.items.extend(turn.items),
            _ => merged.push(turn),
        }
    }
    trim_prefill(&mut merged);
    for turn in &mut merged {
        if turn.items.is_empty() {
            turn.items.push(placeholder());
        }
        if turn.role == Side::User {
            turn.items
                .sort_by_key(|item| item.block.get("toolResult").is_none());
        }
    }
    if merged.first().is_none_or(|t| t.role != Side::User) {
        merged.insert(
            0,
            Turn {
                role: Side::User,
                items: vec![placeholder()],
            },
        );
    }
    merged
}

fn trim_prefill(turns: &mut Vec<Turn>) {
    let Some(last) = turns.last_mut().filter(|t| t.role == Side::Assistant) else {
        return;
    };
    if let Some(item) = last.items.last_mut() {
        if let Some(text) = item.text() {
            let trimmed = text.trim_end();
            if trimmed.is_empty() {
                let cache = item.cache;
                last.items.pop();
                if let Some(prev) = last.items.last_mut() {
                    prev.cache = prev.cache.max(cache);
                }
            } else if trimmed.len() != text.len() {
                item.block = json!({"text": trimmed});
            }
        }
    }
    if last.items.is_empty() {
        turns.pop();
    }
}

fn placeholder() -> Item {
    Item::new(json!({"text": "."}))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::test_support::{body, error};

    fn roles_and_texts(body: &Value) -> Vec<(String, Vec<String>)> {
        body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let role = m["role"].as_str().unwrap_or_default().to_owned();
                let texts = m["content"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| match b.get("text").and_then(Value::as_str) {
                        Some(t) => t.to_owned(),
                        None => b
                            .as_object()
                            .and_then(|o| o.keys().next().cloned())
                            .unwrap_or_default(),
                    })
                    .collect();
                (role, texts)
            })
            .collect()
    }

    fn msg(role: &str, text: &str) -> Value {
        json!({"role": role, "content": text})
    }

    #[test]
    #[expect(
        clippy::too_many_lines,
        reason = "one table of turn sequences before and after, read side by side"
    )]
    fn turns_are_folded_merged_and_padded_as_bedrock_requires() {
        let s = |r: &str, t: &[&str]| {
            (
                r.to_owned(),
                t.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>(),
            )
        };
        let cases = vec![
            // A system message right after a user turn joins it, in order.
            (
                vec![
                    msg("user", "u0"),
                    msg("system", "s"),
                    msg("assistant", "a1"),
                    msg("user", "u2"),
                ],
                vec![
                    s("user", &["u0", "s"]),
                    s("assistant", &["a1"]),
                    s("user", &["u2"]),
                ],
            ),
            // One after an assistant turn goes in front of the next user turn.
            (
                vec![
                    msg("user", "u0"),
                    msg("assistant", "a1"),
                    msg("system", "s"),
                    msg("user", "u2"),
                ],
                vec![
                    s("user", &["u0"]),
                    s("assistant", &["a1"]),
                    s("user", &["s", "u2"]),
                ],
            ),
            // At the end, after an assistant turn, it becomes the final user turn.
            (
                vec![
                    msg("user", "u0"),
                    msg("assistant", "a1"),
                    msg("system", "s"),
                ],
                vec![
                    s("user", &["u0"]),
                    s("assistant", &["a1"]),
                    s("user", &["s"]),
                ],
            ),
            // Consecutive same-role turns merge.
            (
                vec![
                    msg("user", "a"),
                    msg("user", "b"),
                    msg("assistant", "c"),
                    msg("assistant", "d"),
                ],
                vec![s("user", &["a", "b"]), s("assistant", &["c", "d"])],
            ),
            // Starting with assistant gets a placeholder user turn first.
            (
                vec![msg("assistant", "hello"), msg("user", "hi")],
                vec![
                    s("user", &["."]),
                    s("assistant", &["hello"]),
                    s("user", &["hi"]),
                ],
            ),
            // A blank middle turn becomes ".", a blank final assistant turn disappears.
            (
                vec![
                    msg("user", "q"),
                    msg("assistant", "  "),
                    msg("user", "again"),
                    msg("assistant", " \n"),
                ],
                vec![
                    s("user", &["q"]),
                    s("assistant", &["."]),
                    s("user", &["again"]),
                ],
            ),
            // Prefill keeps leading but loses trailing whitespace.
            (
                vec![msg("user", "q"), msg("assistant", "  {\"a\": \n")],
                vec![s("user", &["q"]), s("assistant", &["  {\"a\":"])],
            ),
            // Folded text never lands before the results of the previous turn's tool calls.
            (
                vec![
                    msg("user", "q"),
                    json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]}),
                    msg("system", "note"),
                    json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}),
                ],
                vec![
                    s("user", &["q"]),
                    s("assistant", &["toolUse"]),
                    s("user", &["toolResult", "note"]),
                ],
            ),
            // Only a system message: it is the user turn.
            (vec![msg("system", "only")], vec![s("user", &["only"])]),
        ];
        for (messages, want) in cases {
            let out = body("claude-sonnet-4-5", json!({"messages": messages}));
            assert_eq!(roles_and_texts(&out), want, "{messages:?}");
        }
    }

    #[test]
    fn blank_text_blocks_are_dropped_everywhere() {
        let out = body(
            "claude-sonnet-4-5",
            json!({"system": [{"type": "text", "text": " "}, {"type": "text", "text": "sys"}],
            "messages": [{"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "\n"}]},
                {"type": "text", "text": ""}, {"type": "text", "text": "x"}]},
            ]}),
        );
        assert_eq!(out["system"], json!([{"text": "sys"}]));
        assert_eq!(
            out["messages"][0]["content"][0]["toolResult"]["content"],
            json!([{"text": "(empty)"}])
        );
        assert_eq!(out["messages"][0]["content"][1], json!({"text": "x"}));
    }

    #[test]
    fn bad_roles_and_empty_conversations_are_rejected_with_the_field_named() {
        let cases = [
            (json!({"messages": []}), "messages:"),
            (
                json!({"messages": [{"role": "tool", "content": "x"}]}),
                "messages.0.role:",
            ),
            (
                json!({"messages": [{"role": "user"}]}),
                "messages.0: missing field `content`",
            ),
        ];
        for (request, want) in cases {
            let message = error("claude-sonnet-4-5", request);
            assert!(message.starts_with(want), "{message}");
        }
    }
}

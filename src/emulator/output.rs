//! Output blocks: their type and token cost, generated ids, signatures and filler text, and the
//! stop-sequence / `maxTokens` cut.

use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use serde_json::Value;

use super::model_id::Model;
use super::tokens::text_tokens;

const DEFAULT_MAX_TOKENS: u64 = 8_192;
const WORDS: [&str; 8] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
];

/// One output content block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Text(String),
    Reasoning {
        text: String,
        signature: Option<String>,
    },
    /// `redactedContent`, base64.
    Redacted(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl Block {
    pub(crate) fn tokens(&self) -> u64 {
        match self {
            Self::Text(t) | Self::Reasoning { text: t, .. } => text_tokens(t),
            Self::Redacted(_) => 16,
            Self::ToolUse { name, input, .. } => {
                text_tokens(name) + text_tokens(&input.to_string())
            }
        }
    }
}

/// Cuts the output at the first stop sequence, then at `maxTokens`; returns why it stopped.
pub(crate) fn apply_limits(
    blocks: &mut Vec<Block>,
    stops: &[String],
    max_tokens: Option<i64>,
) -> Option<(&'static str, Option<String>)> {
    let mut stopped = None;
    for (i, block) in blocks.iter_mut().enumerate() {
        let Block::Text(text) = block else { continue };
        let hit = stops
            .iter()
            .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
            .min_by_key(|(at, _)| *at);
        if let Some((at, sequence)) = hit {
            text.truncate(at);
            stopped = Some(("stop_sequence", Some(sequence.clone())));
            blocks.truncate(i + 1);
            break;
        }
    }
    let mut left = max_tokens
        .and_then(|m| u64::try_from(m).ok())
        .unwrap_or(DEFAULT_MAX_TOKENS);
    for (i, block) in blocks.iter_mut().enumerate() {
        let cost = block.tokens();
        if cost <= left {
            left -= cost;
            continue;
        }
        if let Block::Text(t) | Block::Reasoning { text: t, .. } = block {
            let keep = usize::try_from(left * 4).unwrap_or(usize::MAX);
            if let Some((cut, _)) = t.char_indices().nth(keep) {
                t.truncate(cut);
            }
            blocks.truncate(i + 1);
        } else {
            blocks.truncate(i);
        }
        stopped = Some(("max_tokens", None));
        break;
    }
    blocks.retain(|b| !matches!(b, Block::Text(t) if t.is_empty()));
    stopped
}

pub(crate) fn reasoning(text: String, model: &Model) -> Block {
    let signature = model.capabilities.claude.then(|| {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        format!(
            "emu-sig-{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    });
    Block::Reasoning { text, signature }
}

pub(crate) fn redacted_data() -> String {
    let mut bytes = b"emu-redacted-0000000000000000".to_vec();
    rand::rng().fill_bytes(&mut bytes[13..]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn tool_use_id() -> String {
    format!(
        "tooluse_{}",
        Alphanumeric.sample_string(&mut rand::rng(), 22)
    )
}

pub(crate) fn long_text(n: usize) -> String {
    (0..n)
        .map(|i| WORDS[i % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

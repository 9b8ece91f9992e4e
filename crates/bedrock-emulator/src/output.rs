//! Output blocks: their type and token cost, generated ids, signatures and filler text, and the
//! stop-sequence / `maxTokens` cut.

use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use serde_json::Value;

use super::model_id::Model;
use super::tokens::text_tokens;

const DEFAULT_MAX_TOKENS: u64 = 8_192;
const SIGNATURE_PREFIX: &str = "emu-sig-";
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
    let signature = model.capabilities.claude.then(signature);
    Block::Reasoning { text, signature }
}

/// A fresh thinking signature: `emu-sig-` and base64 of 16 random bytes followed by 8 bytes of
/// their keyed hash, so [`is_our_signature`] can tell ours from any other string (as Anthropic
/// refuses signatures it did not issue) without remembering what was handed out.
pub(crate) fn signature() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes[..16]);
    let tag = signature_tag(&bytes[..16]);
    bytes[16..].copy_from_slice(&tag);
    format!(
        "{SIGNATURE_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Whether `signature` came from [`signature`] (of any emulator instance).
pub(crate) fn is_our_signature(signature: &str) -> bool {
    let Some(encoded) = signature.strip_prefix(SIGNATURE_PREFIX) else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
        return false;
    };
    bytes.len() == 24 && signature_tag(&bytes[..16]) == bytes[16..]
}

fn signature_tag(nonce: &[u8]) -> [u8; 8] {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"chatrix-emulator-thinking-signature")
        .chain_update(nonce)
        .finalize();
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&digest[..8]);
    tag
}

/// Whether `data` is a `redacted_thinking` payload from [`redacted_data`].
pub(crate) fn is_our_redacted_data(data: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .is_ok_and(|bytes| bytes.starts_with(b"emu-redacted-"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signatures_the_emulator_issued_verify() {
        let issued = signature();
        assert!(issued.starts_with("emu-sig-"));
        assert!(is_our_signature(&issued));
        assert!(!is_our_signature("emu-sig-AAAA"));
        assert!(!is_our_signature("EqQBCkYIARgCKkB"));
        let mut forged = issued.into_bytes();
        let last = forged.len() - 3;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert!(!is_our_signature(
            &String::from_utf8(forged).expect("ascii")
        ));
        assert!(is_our_redacted_data(&redacted_data()));
        assert!(!is_our_redacted_data("bm9wZQ=="));
    }
}

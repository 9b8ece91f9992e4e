//! Which tokenizer generation a model's name implies, and how the estimate (fitted on the legacy
//! Claude tokenizer) is carried over to it. Pure: the name is all it reads.
//!
//! Claude Opus 4.7 introduced a tokenizer that needs "roughly 1× to 1.35× as many tokens" for the
//! same text, varying by content, and every later Claude model (5.x, Fable, Mythos) shares it.
//! Independent measurements through Anthropic's `count_tokens` found up to ~1.45× on English prose
//! and technical documents and ~1.0× on CJK. An estimate that is too low is the harmful direction
//! (Claude Code compacts from it), so the text part is scaled by [`NEW_TOKENIZER_TEXT_FACTOR`],
//! the measured upper end rather than the documented one. Sources and the expected error: `docs/token-counting.md`.

use super::Estimate;

/// Text tokens of a 4.7+ model per text token of the estimate (which is fitted on the legacy
/// tokenizer). Media and framing are not text and keep their own rules.
pub const NEW_TOKENIZER_TEXT_FACTOR: f64 = 1.45;

/// The first Claude version on the new tokenizer.
const FIRST_NEW: (u32, u32) = (4, 7);

/// A tokenizer generation, as far as token counts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Claude 3 to Opus 4.6 / Sonnet 4.6 / Haiku 4.5, and every non-Claude model: the estimate
    /// as fitted.
    Classic,
    /// Claude Opus 4.7 and every later Claude model: text scaled by
    /// [`NEW_TOKENIZER_TEXT_FACTOR`].
    Claude47,
}

impl Generation {
    /// The generation of a model named by an Anthropic id (`claude-opus-5-5`,
    /// `claude-sonnet-4-5-20250929`), a Bedrock id (`anthropic.claude-3-7-sonnet-20250219-v1:0`),
    /// a profile id or an ARN. A Claude name whose version cannot be read (`claude-mythos-preview`)
    /// is taken to be new: names the gateway has not seen are of models newer than it.
    pub fn of(model: &str) -> Self {
        let name = model.rsplit('/').next().unwrap_or(model);
        let Some(at) = name.find("claude-") else {
            return Self::Classic;
        };
        let version: Vec<u32> = name[at + "claude-".len()..]
            .split('-')
            // Dates (`20250929`) are not versions; `v1:0` is not a number.
            .filter(|part| part.len() <= 2)
            .filter_map(|part| part.parse().ok())
            .take(2)
            .collect();
        match version.as_slice() {
            [] => Self::Claude47,
            [major] if (*major, 0) >= FIRST_NEW => Self::Claude47,
            [major, minor] if (*major, *minor) >= FIRST_NEW => Self::Claude47,
            _ => Self::Classic,
        }
    }
}

impl Estimate {
    /// The whole estimate for a model of `generation`; never 0.
    pub fn total_for(&self, generation: Generation) -> u64 {
        match generation {
            Generation::Classic => self.total(),
            Generation::Claude47 => {
                // Token counts are far below 2^52: the float round trip is exact.
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                #[allow(clippy::cast_sign_loss)]
                let text = (self.text as f64 * NEW_TOKENIZER_TEXT_FACTOR).ceil() as u64;
                Estimate { text, ..*self }.total()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_from_opus_4_7_on_use_the_new_tokenizer() {
        for name in [
            "claude-opus-4-7",
            "claude-opus-4-8",
            "claude-sonnet-5",
            "claude-opus-5-5",
            "claude-haiku-5-5",
            "claude-fable-5-2",
            "anthropic.claude-opus-5",
            "global.anthropic.claude-sonnet-5-5",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-7",
            "claude-opus-6",
            "claude-mythos-preview",
        ] {
            assert_eq!(Generation::of(name), Generation::Claude47, "{name}");
        }
    }

    #[test]
    fn earlier_claude_models_and_other_vendors_keep_the_fitted_estimate() {
        for name in [
            "claude-3-5-haiku-20241022",
            "anthropic.claude-3-7-sonnet-20250219-v1:0",
            "claude-sonnet-4-20250514",
            "claude-opus-4-1-20250805",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-6",
            "anthropic.claude-opus-4-6-v1",
            "qwen.qwen3-32b-v1:0",
            "deepseek-r1",
        ] {
            assert_eq!(Generation::of(name), Generation::Classic, "{name}");
        }
    }

    #[test]
    fn the_new_tokenizer_scales_text_only_and_never_answers_less() {
        let e = Estimate {
            text: 1_000,
            media: 1_600,
            framing: 12,
        };
        assert_eq!(e.total_for(Generation::Classic), e.total());
        assert_eq!(e.total_for(Generation::Claude47), 1_450 + 1_600 + 12);
        let tiny = Estimate {
            text: 1,
            ..Estimate::default()
        };
        assert_eq!(tiny.total_for(Generation::Claude47), 2);
        assert_eq!(Estimate::default().total_for(Generation::Claude47), 1);
    }
}

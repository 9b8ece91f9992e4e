//! Tokens of one piece of text, by character class.
//!
//! BPE tokenizers cut text into pre-tokens (a word with its leading space, a run of digits, a run of
//! punctuation, a run of whitespace) and then merge bytes inside each. How many tokens a pre-token
//! becomes depends mostly on its class: a common English word is one token, a long identifier a few,
//! an ideograph about one, a Hangul syllable more, an emoji several (its UTF-8 bytes). So the text is
//! split into runs of one class and each run is priced by its class. The constants were fitted on
//! the fixture corpus in `tests/fixtures/tokens` (method and error: `docs/token-counting.md`).

/// A word of up to this many ASCII letters is one token; longer ones cost one more per this many.
const WORD_CHARS: f64 = 6.0;
/// Digits per token.
const DIGITS_PER_TOKEN: usize = 3;
/// ASCII punctuation runs up to this long (`":"`, `");`, `->`) are one token.
const PUNCT_RUN: usize = 3;
/// Each punctuation character past [`PUNCT_RUN`].
const PUNCT_EXTRA: f64 = 0.5;
/// Whitespace characters per extra token in a long run (indentation, blank lines).
const SPACES_PER_TOKEN: f64 = 32.0;
/// One CJK ideograph or kana.
const CJK: f64 = 1.0;
/// One Hangul syllable or jamo.
const HANGUL: f64 = 1.5;
/// Each letter of other scripts (accented Latin, Cyrillic, Greek, Arabic, …).
const OTHER_LETTER: f64 = 0.6;
/// One typographic or full-width punctuation mark (`—`, `“`, `。`, `，`).
const WIDE_PUNCT: f64 = 1.5;
/// Anything else: emoji and symbols, several UTF-8 bytes that rarely merge.
const SYMBOL: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Digit,
    Space,
    Punct,
    Cjk,
    Hangul,
    OtherLetter,
    WidePunct,
    Symbol,
}

impl Class {
    fn of(c: char) -> Self {
        if c.is_ascii() {
            return match c {
                _ if c.is_ascii_alphabetic() => Self::Word,
                _ if c.is_ascii_digit() => Self::Digit,
                _ if c.is_ascii_whitespace() => Self::Space,
                _ => Self::Punct,
            };
        }
        let u = u32::from(c);
        match u {
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => Self::Cjk,
            0x2_0000..=0x3_FFFF => Self::Cjk,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Self::Hangul,
            _ if c.is_whitespace() => Self::Space,
            _ if c.is_alphabetic() => Self::OtherLetter,
            _ if c.is_numeric() => Self::Digit,
            0xA0..=0xBF | 0x2000..=0x206F | 0x3000..=0x303F | 0xFF00..=0xFFEF => Self::WidePunct,
            _ => Self::Symbol,
        }
    }

    /// Classes whose characters are priced one by one rather than as a run.
    fn is_per_char(self) -> bool {
        matches!(
            self,
            Self::Cjk | Self::Hangul | Self::WidePunct | Self::Symbol
        )
    }
}

/// One run of characters of the same class.
struct Run {
    class: Class,
    chars: usize,
    /// Lower-to-upper case changes inside a word (`camelCase` is two pieces).
    humps: usize,
    /// The run is exactly one ASCII space, which merges into the next word.
    lone_space: bool,
}

impl Run {
    fn cost(&self) -> f64 {
        let n = self.chars as f64;
        match self.class {
            Class::Word => {
                let pieces = (self.humps + 1) as f64;
                pieces + (n - pieces * WORD_CHARS).max(0.0) / WORD_CHARS
            }
            Class::Digit => self.chars.div_ceil(DIGITS_PER_TOKEN) as f64,
            Class::Punct => 1.0 + self.chars.saturating_sub(PUNCT_RUN) as f64 * PUNCT_EXTRA,
            Class::Space if self.lone_space => 0.0,
            Class::Space => 1.0 + n / SPACES_PER_TOKEN,
            Class::Cjk => n * CJK,
            Class::Hangul => n * HANGUL,
            Class::OtherLetter => (n * OTHER_LETTER).max(1.0),
            Class::WidePunct => n * WIDE_PUNCT,
            Class::Symbol => n * SYMBOL,
        }
    }
}

/// Estimated tokens of `text`: 0 only for the empty string.
pub fn text_tokens(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    let mut total = 0.0;
    let mut run: Option<Run> = None;
    let mut previous = ' ';
    for c in text.chars() {
        let class = Class::of(c);
        match &mut run {
            Some(r) if r.class == class && !class.is_per_char() => {
                r.chars += 1;
                r.lone_space = false;
                if class == Class::Word && previous.is_ascii_lowercase() && c.is_ascii_uppercase() {
                    r.humps += 1;
                }
            }
            _ => {
                if let Some(done) = run.take() {
                    total += done.cost();
                }
                run = Some(Run {
                    class,
                    chars: 1,
                    humps: 0,
                    lone_space: c == ' ',
                });
            }
        }
        previous = c;
    }
    if let Some(done) = run {
        total += done.cost();
    }
    // `total` is finite and non-negative; `as` saturates anyway.
    (total.ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_zero_and_anything_else_at_least_one() {
        assert_eq!(text_tokens(""), 0);
        for s in [" ", "\n", "a", ".", "7", "é", "字", "🙂"] {
            assert!(text_tokens(s) >= 1, "{s:?}");
        }
    }

    #[test]
    fn each_class_is_priced_by_its_rule() {
        let cases: [(&str, u64); 10] = [
            ("hello world", 2),
            ("internationalization", 4),
            ("camelCaseName", 3),
            ("1234567", 3),
            ("\":{\"", 2),
            ("        x", 3),
            ("今天早上", 4),
            ("가족과", 5),
            ("Документы", 6),
            ("✨🐛", 6),
        ];
        for (text, want) in cases {
            assert_eq!(text_tokens(text), want, "{text:?}");
        }
    }

    #[test]
    fn cjk_costs_more_per_byte_than_ascii_prose_costs_less() {
        let prose = "the cat sat on the mat and looked out of the window";
        let han = "猫坐在垫子上看着窗外的风景";
        assert!(text_tokens(prose) < prose.len() as u64 / 3);
        assert!(text_tokens(han) as usize >= han.chars().count());
    }
}

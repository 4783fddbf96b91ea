//! `Vocabulary`: text to token ids and back, character- or word-level, most frequent tokens
//! first, with 0 reserved for padding and 1 for tokens outside the vocabulary.
//!
//! The vocabulary is built from the training texts only (the test texts must not decide which
//! words the model may know) and deterministically (ties broken by the token's text), so loading
//! the same folder again derives the same mapping, and predictions use the ids training used.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Id of the padding token (after the end of a short text).
pub const PAD: u32 = 0;
/// Id of every token that is not in the vocabulary.
pub const UNKNOWN: u32 = 1;
/// How the reserved ids are shown.
pub const RESERVED: [&str; 2] = ["<pad>", "<unk>"];

/// What a token is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenLevel {
    /// One character (lower-cased): small vocabulary, long sequences, learns spelling.
    #[default]
    Chars,
    /// One word (lower-cased letters, digits and apostrophes): short sequences, big vocabulary.
    Words,
}

impl TokenLevel {
    /// The tokens of `text`, lower-cased.
    pub fn tokens(self, text: &str) -> Vec<String> {
        let lower = text.to_lowercase();
        match self {
            TokenLevel::Chars => lower
                .chars()
                .map(|c| if c.is_whitespace() { ' ' } else { c })
                .map(String::from)
                .collect(),
            TokenLevel::Words => lower
                .split(|c: char| !(c.is_alphanumeric() || c == '\''))
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TokenLevel::Chars => "chars",
            TokenLevel::Words => "words",
        }
    }
}

/// Token ids for a text dataset: `tokens[id]` is the token of `id`. Saved in a trained
/// experiment as its level and token list, so predictions encode texts as training did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "VocabularyFields", into = "VocabularyFields")]
pub struct Vocabulary {
    pub level: TokenLevel,
    /// `<pad>`, `<unk>`, then the tokens, most frequent first.
    pub tokens: Vec<String>,
    ids: HashMap<String, u32>,
}

/// How a vocabulary is written: `(level: Words, tokens: ["<pad>", "<unk>", "the", …])`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFields {
    level: TokenLevel,
    tokens: Vec<String>,
}

impl From<VocabularyFields> for Vocabulary {
    fn from(f: VocabularyFields) -> Self {
        Vocabulary::from_tokens(f.level, f.tokens)
    }
}

impl From<Vocabulary> for VocabularyFields {
    fn from(v: Vocabulary) -> Self {
        VocabularyFields {
            level: v.level,
            tokens: v.tokens,
        }
    }
}

impl Vocabulary {
    /// The `cap` most frequent tokens of `texts` (counting the two reserved ids; ties by the
    /// token's text, so the result does not depend on the order of the texts).
    pub fn build<'a>(level: TokenLevel, texts: impl IntoIterator<Item = &'a str>, cap: usize) -> Self {
        let mut counts = HashMap::new();
        for text in texts {
            Self::count(level, text, &mut counts);
        }
        Self::from_counts(level, counts, cap)
    }

    /// Adds the tokens of `text` to `counts` (for [`Vocabulary::from_counts`]).
    pub fn count(level: TokenLevel, text: &str, counts: &mut HashMap<String, u64>) {
        for token in level.tokens(text) {
            *counts.entry(token).or_default() += 1;
        }
    }

    /// The `cap` most frequent tokens of `counts`, as [`Vocabulary::build`].
    pub fn from_counts(level: TokenLevel, counts: HashMap<String, u64>, cap: usize) -> Self {
        let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let keep = cap.saturating_sub(RESERVED.len());
        let tokens = RESERVED
            .iter()
            .map(|s| s.to_string())
            .chain(ranked.into_iter().take(keep).map(|(t, _)| t))
            .collect();
        Self::from_tokens(level, tokens)
    }

    /// A vocabulary from its token list (`tokens[0]` and `[1]` are the reserved ones).
    pub fn from_tokens(level: TokenLevel, tokens: Vec<String>) -> Self {
        let ids = tokens
            .iter()
            .enumerate()
            .skip(RESERVED.len())
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Vocabulary { level, tokens, ids }
    }

    /// Number of ids, reserved ones included: an `Embedding` needs `input_dim` at least this.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= RESERVED.len()
    }

    pub fn id(&self, token: &str) -> u32 {
        self.ids.get(token).copied().unwrap_or(UNKNOWN)
    }

    /// The token of `id` (`<unk>` for ids out of range).
    pub fn token(&self, id: u32) -> &str {
        self.tokens.get(id as usize).map_or(RESERVED[1], String::as_str)
    }

    /// `text` as exactly `steps` ids (as `f32`, what a batch holds): cut after `steps` tokens,
    /// padded with [`PAD`] after a short one. Appended to `out`; returns whether it was cut.
    pub fn encode(&self, text: &str, steps: usize, out: &mut Vec<f32>) -> bool {
        let tokens = self.level.tokens(text);
        let cut = tokens.len() > steps;
        let start = out.len();
        out.extend(tokens.iter().take(steps).map(|t| self.id(t) as f32));
        out.resize(start + steps, PAD as f32);
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_frequent_first_reserved_ids_and_padding() {
        let v = Vocabulary::build(TokenLevel::Words, ["the cat, the DOG", "the bird's nest"], 5);
        assert_eq!(v.tokens, ["<pad>", "<unk>", "the", "bird's", "cat"]);
        let mut ids = Vec::new();
        assert!(!v.encode("The cat saw a dog", 6, &mut ids));
        assert_eq!(ids, [2.0, 4.0, 1.0, 1.0, 1.0, 0.0]);
        ids.clear();
        assert!(v.encode("cat cat cat", 2, &mut ids));
        assert_eq!(ids, [4.0, 4.0]);
        assert_eq!(v.token(2), "the");
        assert_eq!(v.token(99), "<unk>");
        let c = Vocabulary::build(TokenLevel::Chars, ["aab\tb", "b"], 100);
        assert_eq!(c.tokens, ["<pad>", "<unk>", "b", "a", " "]);
        // Order of the texts does not matter.
        let again = Vocabulary::build(TokenLevel::Words, ["the bird's nest", "the cat, the DOG"], 5);
        assert_eq!(again, v);
    }
}

//! `OutputCap`: the backstop against an upstream that ignores the output limit. The hold covers a number of output
//! tokens; a tap asks the cap before relaying each piece of delivered text (answer, tool-call arguments,
//! reasoning), and stops relaying once the next piece would go beyond it.
//!
//! Counting is incremental: each new piece is counted on its own, and the sum (which is never much below the
//! count of the whole text) is confirmed by counting the whole text only when it would pass the cap. After a
//! confirmation the sum restarts from the exact count, so the whole text is counted a few times per stream at
//! most, never once per piece.

use crate::billing::tokenizer;

pub struct OutputCap {
    limit: u64,
    model: String,
    /// Tokens delivered so far: the sum of the pieces' counts since the last exact count.
    counted: u64,
}

impl OutputCap {
    /// A cap of `limit` output tokens, counted with `model`'s tokenizer; `None` when there is no limit.
    pub fn new(limit: Option<u64>, model: &str) -> Option<Self> {
        limit.map(|limit| Self {
            limit,
            model: model.to_owned(),
            counted: 0,
        })
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Whether `delivered[from..]`, the new piece after the text already relayed, still fits under the cap.
    /// A piece that does not fit is not counted: the caller withholds it.
    pub fn admits(&mut self, delivered: &str, from: usize) -> bool {
        let Some(piece) = delivered.get(from..).filter(|p| !p.is_empty()) else {
            return true;
        };
        let sum = self
            .counted
            .saturating_add(tokenizer::count_text(&self.model, piece));
        if sum <= self.limit {
            self.counted = sum;
            return true;
        }
        let exact = tokenizer::count_text(&self.model, delivered);
        if exact <= self.limit {
            self.counted = exact;
            return true;
        }
        false
    }

    /// The log row's note for a stream cut here.
    pub fn note(&self) -> String {
        format!(
            "upstream ignored the output limit: stream cut at {} output tokens",
            self.limit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_pieces_until_the_limit_and_not_beyond() {
        let mut cap = OutputCap::new(Some(3), "gpt-4o").unwrap();
        let mut text = String::new();
        for (piece, fits) in [(" one", true), (" two", true), (" three", true), (" four", false)] {
            let from = text.len();
            text.push_str(piece);
            assert_eq!(cap.admits(&text, from), fits, "{piece}");
        }
        assert!(OutputCap::new(None, "gpt-4o").is_none());
    }

    #[test]
    fn a_sum_above_the_limit_is_confirmed_by_the_exact_count() {
        // Counted apart, "hel" + "lo" is 2 tokens; together "hello" is 1.
        let mut cap = OutputCap::new(Some(1), "gpt-4o").unwrap();
        assert!(cap.admits("hel", 0));
        assert_eq!(tokenizer::count_text("gpt-4o", "hello"), 1);
        assert!(cap.admits("hello", 3));
        assert!(!cap.admits("hello world", 5));
    }
}

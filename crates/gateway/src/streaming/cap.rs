//! `OutputCap`: the backstop against an upstream that ignores the output limit. The hold covers a number of output
//! tokens; a tap asks the cap before relaying each piece of delivered text (answer, tool-call arguments,
//! reasoning), and stops relaying once the next piece would go beyond it.
//!
//! The count is tiktoken's. For OpenAI's model families it is the upstream's own count, and the cut comes at the
//! limit; Claude's tokenizer splits text at least as finely as tiktoken's (the same text is more Claude tokens), so
//! an Anthropic upstream that honours the limit stays under tiktoken's count too and Claude is cut at the limit as
//! well. For other models tiktoken can count up to about twice the upstream's count (Chinese text on Qwen,
//! DeepSeek or Gemini), so the cut comes only past twice the limit — an upstream that honours the limit is never cut, one that
//! ignores it is stopped within a bounded overshoot, and either way no answer is charged more output than the
//! limit (`Settlement::bill`).
//!
//! Counting is lazy and incremental: nothing is counted while the text has no more bytes than the cut allows
//! tokens (a token is at least a byte), so most streams never reach the tokenizer; past that, each new piece is
//! counted on its own, and the sum (which is never much below the
//! count of the whole text) is confirmed by counting the whole text only when it would pass the cap. After a
//! confirmation the sum restarts from the exact count, so the whole text is counted a few times per stream at
//! most, never once per piece.

use crate::billing::tokenizer;

/// Model families whose own tokens are never fewer than tiktoken's count of the same text: cut at the limit.
const OPENAI_FAMILIES: [&str; 7] = ["gpt-", "chatgpt-", "o1", "o3", "o4", "text-", "claude-"];

/// How far past the limit tiktoken's count may go for other models before the cut.
const FOREIGN_SLACK: u64 = 2;

pub struct OutputCap {
    limit: u64,
    /// The count at which the stream is cut: the limit, or past it where tiktoken is not the model's tokenizer.
    cut_at: u64,
    model: String,
    /// Tokens delivered so far: the sum of the pieces' counts since the last exact count.
    counted: u64,
    /// Nothing was counted yet: the text so far had no more bytes than the cut allows tokens.
    uncounted: bool,
}

impl OutputCap {
    /// A cap of `limit` output tokens, counted with `model`'s tokenizer; `None` when there is no limit.
    pub fn new(limit: Option<u64>, model: &str) -> Option<Self> {
        let exact = OPENAI_FAMILIES.iter().any(|f| model.starts_with(f));
        limit.map(|limit| Self {
            limit,
            cut_at: if exact {
                limit
            } else {
                limit.saturating_mul(FOREIGN_SLACK)
            },
            model: model.to_owned(),
            counted: 0,
            uncounted: true,
        })
    }

    /// Whether `delivered[from..]`, the new piece after the text already relayed, still fits under the cap.
    /// A piece that does not fit is not counted: the caller withholds it.
    pub fn admits(&mut self, delivered: &str, from: usize) -> bool {
        let Some(piece) = delivered.get(from..).filter(|p| !p.is_empty()) else {
            return true;
        };
        // A token is at least one byte: while the text has no more bytes than the cut allows tokens, no count is
        // needed (most answers end there). The first time it has more, what came before is counted once.
        if delivered.len() as u64 <= self.cut_at {
            return true;
        }
        if std::mem::take(&mut self.uncounted) {
            self.counted = tokenizer::count_text(&self.model, &delivered[..from]);
        }
        let sum = self
            .counted
            .saturating_add(tokenizer::count_text(&self.model, piece));
        if sum <= self.cut_at {
            self.counted = sum;
            return true;
        }
        let exact = tokenizer::count_text(&self.model, delivered);
        if exact <= self.cut_at {
            self.counted = exact;
            return true;
        }
        false
    }

    /// The log row's note for a stream cut here.
    pub fn note(&self) -> String {
        format!(
            "upstream ignored the output limit ({} tokens): stream cut",
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
        for (piece, fits) in [
            (" one", true),
            (" two", true),
            (" three", true),
            (" four", false),
        ] {
            let from = text.len();
            text.push_str(piece);
            assert_eq!(cap.admits(&text, from), fits, "{piece}");
        }
        assert!(OutputCap::new(None, "gpt-4o").is_none());
    }

    #[test]
    fn a_foreign_tokenizer_is_cut_only_past_twice_the_limit() {
        let mut cap = OutputCap::new(Some(2), "qwen-max").unwrap();
        let text = " one two three four five";
        let fits: Vec<bool> = (0..5)
            .map(|i| {
                let end = text
                    .match_indices(' ')
                    .nth(i + 1)
                    .map_or(text.len(), |m| m.0);
                let from = text.match_indices(' ').nth(i).map_or(0, |m| m.0);
                cap.admits(&text[..end], from)
            })
            .collect();
        assert_eq!(fits, [true, true, true, true, false]);
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

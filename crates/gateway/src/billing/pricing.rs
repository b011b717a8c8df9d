//! Cost of a request = ceil(Σ tokens × price per million × group multiplier (per mille) / 1e9): one rounding, up,
//! at the end, all in integers (i128 inside, so no product can overflow). A per-request price replaces token pricing.

use store::Price;

/// Tokens as the upstream (or our tokenizer) reports them. `cached` (read from the prompt cache) and
/// `cache_write` (written to it) are parts of `prompt`; `cache_write_1h` is the part of `cache_write` kept for an
/// hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub prompt: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub cache_write_1h: u64,
    /// Audio input tokens (realtime), part of `prompt`, at the audio input price.
    pub audio_input: u64,
    pub completion: u64,
    /// Audio output tokens (realtime), part of `completion`, at the audio output price.
    pub audio_output: u64,
}

impl TokenCounts {
    /// `prompt` and `completion` tokens with the prompt at the dearest price it can be billed at (a request may
    /// write its whole prompt to the cache): what a hold must cover.
    pub fn held(price: &Price, prompt: u64, completion: u64) -> Self {
        let [input, _, write, write_1h] = PromptPrices::of(price).0;
        let mut t = Self {
            prompt,
            completion,
            ..Self::default()
        };
        if write_1h > input.max(write) {
            (t.cache_write, t.cache_write_1h) = (prompt, prompt);
        } else if write > input {
            t.cache_write = prompt;
        }
        t
    }
}

/// Per-million prices of uncached input, cache reads, cache writes and one-hour cache writes: a read or a write
/// without a price of its own costs the input price; a one-hour write without one, the write price.
struct PromptPrices([i128; 4], i128);

impl PromptPrices {
    fn of(price: &Price) -> Self {
        let own = |p: Option<i64>, otherwise: i128| p.map_or(otherwise, |p| i128::from(p.max(0)));
        let input = own(price.input_per_million, 0);
        let write = own(price.cache_write_per_million, input);
        let audio = own(price.audio_input_per_million, input);
        Self(
            [
                input,
                own(price.cached_input_per_million, input),
                write,
                own(price.cache_write_1h_per_million, write),
            ],
            audio,
        )
    }

    /// Σ tokens × price of the prompt's four parts (each limited to what is left of the prompt).
    fn of_prompt(&self, t: &TokenCounts) -> i128 {
        let mut left = t.prompt;
        let mut take = |n: u64| {
            let n = n.min(left);
            left -= n;
            i128::from(n)
        };
        let read = take(t.cached);
        let audio = take(t.audio_input);
        let write_1h = take(t.cache_write_1h.min(t.cache_write));
        let write = take(t.cache_write.saturating_sub(t.cache_write_1h));
        let [input, read_price, write_price, write_1h_price] = self.0;
        i128::from(left) * input
            + read * read_price
            + write * write_price
            + write_1h * write_1h_price
            + audio * self.1
    }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    if a <= 0 {
        0
    } else {
        a.saturating_add(b - 1) / b
    }
}

/// The price of `tokens` times the group's per-mille multiplier, rounded up once at the end (rounding the token
/// sum first and the multiplied amount again would overcharge by up to a micro-unit).
pub fn cost(price: &Price, tokens: TokenCounts, multiplier: i64) -> i64 {
    let multiplier = i128::from(multiplier.max(0));
    let total = match price.per_request {
        Some(p) => div_ceil(i128::from(p.max(0)).saturating_mul(multiplier), 1000),
        None => {
            let output = i128::from(price.output_per_million.unwrap_or(0).max(0));
            let audio_output = price
                .audio_output_per_million
                .map_or(output, |p| i128::from(p.max(0)));
            let audio = tokens.audio_output.min(tokens.completion);
            let sum = PromptPrices::of(price).of_prompt(&tokens)
                + i128::from(tokens.completion - audio) * output
                + i128::from(audio) * audio_output;
            div_ceil(sum.saturating_mul(multiplier), 1_000_000_000)
        }
    };
    i64::try_from(total).unwrap_or(i64::MAX)
}

/// A fixed amount (per-call tool prices) times the group's per-mille multiplier, rounded up.
pub fn with_multiplier(amount: i64, multiplier: i64) -> i64 {
    let v = i128::from(amount.max(0)) * i128::from(multiplier.max(0));
    i64::try_from(div_ceil(v, 1000)).unwrap_or(i64::MAX)
}

/// Audio prices (realtime): audio input tokens are part of the prompt and audio output tokens part of the
/// completion, each at its own price (an unpriced one at the text price, though realtime refuses unpriced audio).
///
/// Whether `price` prices audio input and audio output tokens (realtime refuses the audio it cannot bill).
pub fn audio_priced(price: &Price) -> (bool, bool) {
    (
        price.audio_input_per_million.is_some(),
        price.audio_output_per_million.is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(i: i64, c: Option<i64>, o: i64) -> Price {
        Price {
            model: "m".into(),
            input_per_million: Some(i),
            cached_input_per_million: c,
            output_per_million: Some(o),
            ..Price::default()
        }
    }

    /// Token counts in the order prompt, cached, completion.
    fn tokens(prompt: u64, cached: u64, completion: u64) -> TokenCounts {
        TokenCounts {
            prompt,
            cached,
            completion,
            ..TokenCounts::default()
        }
    }

    /// A prompt of `prompt` tokens with `read` cache reads, `write` cache writes of which `write_1h` for an hour.
    fn cache(prompt: u64, read: u64, write: u64, write_1h: u64) -> TokenCounts {
        TokenCounts {
            prompt,
            cached: read,
            cache_write: write,
            cache_write_1h: write_1h,
            ..TokenCounts::default()
        }
    }

    #[test]
    fn audio_tokens_use_the_audio_prices_within_the_prompt_and_the_completion() {
        let realtime = Price {
            audio_input_per_million: Some(32_000_000),
            audio_output_per_million: Some(64_000_000),
            ..price(4_000_000, Some(400_000), 16_000_000)
        };
        // 100 in (40 cached, 20 audio, 40 text), 30 out (10 audio, 20 text).
        let t = TokenCounts {
            prompt: 100,
            cached: 40,
            audio_input: 20,
            completion: 30,
            audio_output: 10,
            ..TokenCounts::default()
        };
        assert_eq!(cost(&realtime, t, 1000), 16 + 640 + 160 + 320 + 640);
        // Unpriced audio costs the text prices.
        let text_only = price(4_000_000, Some(400_000), 16_000_000);
        assert_eq!(cost(&text_only, t, 1000), 16 + 80 + 160 + 160 + 320);
    }

    #[test]
    fn cache_writes_use_their_own_prices() {
        // Claude 3.5 Sonnet: input 3, read 0.30, write 3.75, 1-hour write 6 per million.
        let sonnet = Price {
            cache_write_per_million: Some(3_750_000),
            cache_write_1h_per_million: Some(6_000_000),
            ..price(3_000_000, Some(300_000), 15_000_000)
        };
        let no_write_prices = price(3_000_000, Some(300_000), 15_000_000);
        let no_1h_price = Price {
            cache_write_1h_per_million: None,
            ..sonnet.clone()
        };
        assert_costs(&[
            // 100 uncached × 3 + 1000 read × 0.3 + 2000 write × 3.75 + 400 1h × 6 = 300 + 300 + 7500 + 2400
            (&sonnet, cache(3500, 1000, 2400, 400), 1000, 10_500),
            // Without write prices a write costs the input price: 3500 × 3 - 1000 × 2.7 = 7800.
            (&no_write_prices, cache(3500, 1000, 2400, 400), 1000, 7_800),
            // Without a 1-hour price the 1-hour writes cost the write price: 300 + 300 + 2400 × 3.75.
            (&no_1h_price, cache(3500, 1000, 2400, 400), 1000, 9_600),
            // Counts beyond the prompt are limited to it (reads first, then 1-hour writes, then writes):
            // 8 × 0.3 + 1 × 6 + 1 × 3.75 = 12.15 → 13.
            (&sonnet, cache(10, 8, 50, 1), 1000, 13),
            (&sonnet, cache(0, 5, 5, 5), 1000, 0),
        ]);
    }

    #[test]
    fn a_hold_prices_the_prompt_at_its_dearest() {
        let sonnet = Price {
            cache_write_per_million: Some(3_750_000),
            cache_write_1h_per_million: Some(6_000_000),
            ..price(3_000_000, Some(300_000), 15_000_000)
        };
        // 1000 prompt tokens at 6 (the 1-hour write price) + 10 output at 15.
        assert_eq!(
            cost(&sonnet, TokenCounts::held(&sonnet, 1000, 10), 1000),
            6_150
        );
        let write_only = Price {
            cache_write_1h_per_million: None,
            ..sonnet
        };
        assert_eq!(
            cost(&write_only, TokenCounts::held(&write_only, 1000, 0), 1000),
            3_750
        );
        // A write price below the input price (a discount) does not lower the hold.
        let cheap_writes = Price {
            cache_write_per_million: Some(1_000_000),
            ..price(3_000_000, None, 0)
        };
        assert_eq!(
            cost(
                &cheap_writes,
                TokenCounts::held(&cheap_writes, 1000, 0),
                1000
            ),
            3_000
        );
    }

    /// Asserts each `(price, tokens, multiplier, expected cost)` case.
    fn assert_costs(cases: &[(&Price, TokenCounts, i64, i64)]) {
        for (i, (price, tokens, multiplier, expected)) in cases.iter().enumerate() {
            assert_eq!(cost(price, *tokens, *multiplier), *expected, "case {i}");
        }
    }

    #[test]
    fn token_cost_rounds_up_once() {
        // 9 × 2.5 + 12 × 10 = 142.5 micro → 143
        let p = price(2_500_000, None, 10_000_000);
        assert_costs(&[
            (&p, tokens(9, 0, 12), 1000, 143),
            (&p, tokens(1, 0, 0), 1000, 3),
            (&p, TokenCounts::default(), 1000, 0),
        ]);
    }

    #[test]
    fn cached_tokens_use_the_cached_price() {
        // With a cached price, and without one (cached tokens then cost the input price).
        assert_costs(&[
            (
                &price(2_000_000, Some(1_000_000), 0),
                tokens(10, 4, 0),
                1000,
                16,
            ),
            (&price(2_000_000, None, 0), tokens(10, 4, 0), 1000, 20),
        ]);
    }

    #[test]
    fn multiplier_and_per_request() {
        let p = price(1_000_000, None, 1_000_000);
        let fixed = Price {
            model: "mj".into(),
            per_request: Some(50_000),
            ..Default::default()
        };
        assert_costs(&[
            // 9 × 2.5 + 12 × 10 = 142.5, × 0.8 = 114 exactly: one rounding, not ceil(142.5) × 0.8 → 115.
            (
                &price(2_500_000, None, 10_000_000),
                tokens(9, 0, 12),
                800,
                114,
            ),
            (&p, tokens(100, 0, 0), 1500, 150),
            (&p, tokens(1, 0, 0), 1500, 2),
            (&fixed, tokens(999, 0, 999), 1000, 50_000),
            (&p, tokens(u64::MAX, 0, u64::MAX), i64::MAX, i64::MAX),
        ]);
    }
}

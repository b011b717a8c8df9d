//! Cost of a request = ceil(Σ tokens × price per million × group multiplier (per mille) / 1e9): one rounding, up,
//! at the end, all in integers (i128 inside, so no product can overflow). A per-request price replaces token pricing.

use store::Price;

/// Tokens as the upstream (or our tokenizer) reports them; `cached` is part of `prompt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub prompt: u64,
    pub cached: u64,
    pub completion: u64,
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
            let input = i128::from(price.input_per_million.unwrap_or(0).max(0));
            let cached_price = price
                .cached_input_per_million
                .map_or(input, |c| i128::from(c.max(0)));
            let output = i128::from(price.output_per_million.unwrap_or(0).max(0));
            let cached = i128::from(tokens.cached.min(tokens.prompt));
            let uncached = i128::from(tokens.prompt) - cached;
            let sum =
                uncached * input + cached * cached_price + i128::from(tokens.completion) * output;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn price(i: i64, c: Option<i64>, o: i64) -> Price {
        Price {
            model: "m".into(),
            input_per_million: Some(i),
            cached_input_per_million: c,
            output_per_million: Some(o),
            per_request: None,
            max_output_tokens: None,
        }
    }

    /// Token counts in the order prompt, cached, completion.
    fn tokens(prompt: u64, cached: u64, completion: u64) -> TokenCounts {
        TokenCounts {
            prompt,
            cached,
            completion,
        }
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

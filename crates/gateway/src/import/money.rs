//! Exact unit conversions. new-api keeps money as integer *quota* (500,000 = 1 USD unless its `QuotaPerUnit`
//! option says otherwise) and prices as decimal *ratios* (ratio 1 = 2 USD per million input tokens) written as
//! JSON numbers; Tollgate keeps integer micro-units. Ratios are read from their decimal text, never through
//! float arithmetic, so 0.075 × 2,000,000 is 150,000 exactly; a value that does not land on a whole micro-unit
//! is rounded half up and reported.

/// Micro-units in one unit of currency.
pub const MICRO_PER_UNIT: i128 = 1_000_000;

/// A decimal as `digits × 10^-scale` (exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: i128,
    scale: u32,
}

impl Decimal {
    pub fn from_int(n: i64) -> Self {
        Self {
            digits: i128::from(n),
            scale: 0,
        }
    }

    /// Parses JSON number text (`1.25`, `4`, `1e-07`, `-0.5`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (mantissa, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let negative = int.starts_with('-');
        let int = int.trim_start_matches(['-', '+']);
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: i128 = format!("{int}{frac}").parse().ok()?;
        if negative {
            digits = -digits;
        }
        let mut scale = i32::try_from(frac.len()).ok()? - exp;
        while scale < 0 {
            digits = digits.checked_mul(10)?;
            scale += 1;
        }
        Some(Self {
            digits,
            scale: u32::try_from(scale).ok()?,
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::Number(n) => Self::parse(&n.to_string()),
            serde_json::Value::String(s) => Self::parse(s),
            _ => None,
        }
    }

    pub fn mul(self, other: Self) -> Option<Self> {
        Some(Self {
            digits: self.digits.checked_mul(other.digits)?,
            scale: self.scale.checked_add(other.scale)?,
        })
    }

    /// `self × factor`, rounded half up to an integer, and whether that was exact.
    pub fn times(self, factor: i128) -> Option<(i64, bool)> {
        let n = self.digits.checked_mul(factor)?;
        let d = 10_i128.checked_pow(self.scale)?;
        let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
        let rounded = if r * 2 >= d { q + 1 } else { q };
        Some((i64::try_from(rounded).ok()?, r == 0))
    }
}

/// Converts new-api quota to micro-units: `quota × 1,000,000 / quota_per_unit`, and whether it was exact.
pub fn quota_to_micro(quota: i64, quota_per_unit: Decimal) -> Option<(i64, bool)> {
    // quota / qpu × 1e6 = quota × 1e6 × 10^scale / digits
    let num = i128::from(quota)
        .checked_mul(MICRO_PER_UNIT)?
        .checked_mul(10_i128.checked_pow(quota_per_unit.scale)?)?;
    let den = quota_per_unit.digits;
    if den <= 0 {
        return None;
    }
    let (q, r) = (num.div_euclid(den), num.rem_euclid(den));
    let rounded = if r * 2 >= den { q + 1 } else { q };
    Some((i64::try_from(rounded).ok()?, r == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn ratios_convert_exactly() {
        // ratio 1 = $2 per million tokens = 2,000,000 micro-units per million.
        assert_eq!(d("1.25").times(2_000_000), Some((2_500_000, true)));
        assert_eq!(d("0.075").times(2_000_000), Some((150_000, true)));
        assert_eq!(d("1e-07").times(2_000_000), Some((0, false)));
        assert_eq!(d("2.5E+1").times(1), Some((25, true)));
        assert_eq!(d("0.0000005").times(1_000_000), Some((1, false)));
        assert_eq!(
            d("1.25").mul(d("4")).unwrap().times(2_000_000),
            Some((10_000_000, true))
        );
        assert_eq!(d("0.1").times(1_000_000), Some((100_000, true)));
        assert!(Decimal::parse("abc").is_none());
        assert!(Decimal::parse("1.2.3").is_none());
    }

    #[test]
    fn quota_converts_exactly() {
        let qpu = d("500000");
        assert_eq!(quota_to_micro(500_000, qpu), Some((1_000_000, true)));
        assert_eq!(quota_to_micro(123_457, qpu), Some((246_914, true)));
        assert_eq!(quota_to_micro(-3, qpu), Some((-6, true)));
        // A custom QuotaPerUnit that does not divide evenly is rounded and reported.
        assert_eq!(quota_to_micro(1, d("300000")), Some((3, false)));
        assert_eq!(quota_to_micro(7, d("0")), None);
    }
}

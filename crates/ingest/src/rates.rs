//! Conversion to the engine's base currency through a configured rate table.

use osecwatch_model::{CurrencyCode, Money};
use std::collections::HashMap;

/// Why an amount cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// The currency has no rate to the base currency.
    #[error("no exchange rate configured for {0} (add it to [rates] in the configuration)")]
    Unknown(String),
    /// A configured rate is not a positive number: (currency, value).
    #[error("rate for {0} must be a positive number, got {1}")]
    Invalid(String, String),
}

/// Units of the base currency per one unit of each other currency.
#[derive(Debug, Clone)]
pub struct RateTable {
    base: CurrencyCode,
    rates: HashMap<CurrencyCode, f64>,
}

/// Defaults for the major and corridor currencies, in EUR per unit (approximate 2025
/// averages; configure your own for production).
const EUR_DEFAULTS: &[(&str, f64)] = &[
    ("EUR", 1.0),
    ("USD", 0.90),
    ("GBP", 1.18),
    ("CHF", 1.06),
    ("AUD", 0.59),
    ("CAD", 0.65),
    ("NZD", 0.54),
    ("JPY", 0.0061),
    ("SEK", 0.088),
    ("NOK", 0.087),
    ("DKK", 0.134),
    ("PLN", 0.235),
    ("CZK", 0.040),
    ("HUF", 0.0025),
    ("RON", 0.20),
    ("PHP", 0.0157),
    ("THB", 0.027),
    ("VND", 0.000036),
    ("IDR", 0.000056),
    ("INR", 0.0106),
    ("MXN", 0.048),
    ("COP", 0.00022),
    ("DOP", 0.015),
    ("SGD", 0.68),
    ("HKD", 0.115),
    ("CNY", 0.125),
    ("AED", 0.245),
    ("SAR", 0.24),
    ("TRY", 0.025),
    ("ZAR", 0.050),
    ("NGN", 0.00058),
    ("GHS", 0.060),
    ("KHR", 0.00022),
    ("LAK", 0.000042),
    ("MYR", 0.20),
    ("UAH", 0.022),
    ("JMD", 0.0057),
];

impl RateTable {
    /// The default table for a EUR base.
    pub fn eur_defaults() -> RateTable {
        let rates = EUR_DEFAULTS.iter().filter_map(|(c, r)| CurrencyCode::parse(c).ok().map(|c| (c, *r))).collect();
        RateTable { base: CurrencyCode::EUR, rates }
    }

    /// An explicit table; `rates` maps currency codes to base units per unit.
    pub fn new(base: CurrencyCode, rates: &[(String, f64)]) -> Result<RateTable, RateError> {
        let mut t = RateTable { base, rates: HashMap::from([(base, 1.0)]) };
        for (c, r) in rates {
            let code = CurrencyCode::parse(c).map_err(|_| RateError::Unknown(c.clone()))?;
            if !(r.is_finite() && *r > 0.0) {
                return Err(RateError::Invalid(c.clone(), r.to_string()));
            }
            t.rates.insert(code, *r);
        }
        Ok(t)
    }

    /// The base currency.
    pub fn base(&self) -> CurrencyCode {
        self.base
    }

    /// Whether amounts in `c` can be converted.
    #[inline]
    pub fn knows(&self, c: CurrencyCode) -> bool {
        c == self.base || self.rates.contains_key(&c)
    }

    /// Amount in minor units of the base currency.
    pub fn to_base_minor(&self, m: Money) -> Result<i64, RateError> {
        if m.currency == self.base {
            return Ok(m.minor);
        }
        let rate = self.rates.get(&m.currency).ok_or_else(|| RateError::Unknown(m.currency.to_string()))?;
        let scale = 10f64.powi(self.base.exponent() as i32 - m.currency.exponent() as i32);
        Ok((m.minor as f64 * rate * scale).round() as i64)
    }

    /// Units of `currency` per one unit of the base (e.g. PHP per EUR), if configured.
    pub fn per_base(&self, currency: CurrencyCode) -> Option<f64> {
        self.rates.get(&currency).map(|r| 1.0 / r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_with_exponents() {
        let t = RateTable::new(CurrencyCode::EUR, &[("USD".into(), 0.9), ("JPY".into(), 0.0061), ("KWD".into(), 3.0)])
            .unwrap();
        let usd = CurrencyCode::parse("USD").unwrap();
        let jpy = CurrencyCode::parse("JPY").unwrap();
        let kwd = CurrencyCode::parse("KWD").unwrap();
        assert_eq!(t.to_base_minor(Money::new(10_000, usd)), Ok(9_000)); // USD 100.00 -> EUR 90.00
        assert_eq!(t.to_base_minor(Money::new(10_000, jpy)), Ok(6_100)); // JPY 10,000 -> EUR 61.00
        assert_eq!(t.to_base_minor(Money::new(1_000, kwd)), Ok(300)); // KWD 1.000 -> EUR 3.00
        assert_eq!(t.to_base_minor(Money::new(123, CurrencyCode::EUR)), Ok(123));
        let php = CurrencyCode::parse("PHP").unwrap();
        assert_eq!(t.to_base_minor(Money::new(100, php)), Err(RateError::Unknown("PHP".into())));
        assert!(RateTable::new(CurrencyCode::EUR, &[("USD".into(), -1.0)]).is_err());
        assert!(RateTable::new(CurrencyCode::EUR, &[("XYZ".into(), 1.0)]).is_err());
    }
}

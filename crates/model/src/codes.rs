//! Country codes, currency codes and payment channels.

use std::fmt;

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not an ISO 3166-1 alpha-2 country code.
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
    Country(String),
    /// Not an ISO 4217 currency code.
    #[error("`{0}` is not an ISO 4217 currency code osecwatch knows")]
    Currency(String),
    /// Not one of the channels.
    #[error("`{0}` is not a channel (expected one of bank_transfer, mto, wallet, card, crypto, cash, other)")]
    Channel(String),
}

// Officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo), which banks and
// SWIFT use in practice. Kept as one string so the check is a simple scan of pairs.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// How many two-letter codes there are: the size of a table indexed by [`CountryCode::index`].
pub const COUNTRY_SLOTS: usize = 26 * 26;

/// Table position of a code of two upper-case letters.
const fn slot(x: u8, y: u8) -> usize {
    (x - b'A') as usize * 26 + (y - b'A') as usize
}

/// Bitmap of assigned codes: parsing is a table lookup because it runs twice per row on the
/// ingest hot path.
const ASSIGNED: [bool; COUNTRY_SLOTS] = {
    let mut t = [false; COUNTRY_SLOTS];
    let b = COUNTRIES.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        t[slot(b[i], b[i + 1])] = true;
        i += 3;
    }
    t
};

/// An ISO 3166-1 alpha-2 country code, validated against the assigned list.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parse an upper-case two-letter code.
    #[inline]
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        Self::from_ascii(s.as_bytes()).ok_or_else(|| CodeError::Country(s.to_string()))
    }

    /// [`CountryCode::parse`] on raw bytes, without the error: for readers that validate
    /// fields before they are text and ask `parse` for the reason only when this fails.
    #[inline(always)]
    pub fn from_ascii(b: &[u8]) -> Option<Self> {
        match *b {
            [x, y] if x.is_ascii_uppercase() && y.is_ascii_uppercase() && ASSIGNED[slot(x, y)] => {
                Some(CountryCode([x, y]))
            }
            _ => None,
        }
    }

    /// This code's place in a table over all two-letter codes (`[T; COUNTRY_SLOTS]`), for
    /// per-pack country sets that are looked up on every payment.
    pub fn index(self) -> usize {
        slot(self.0[0], self.0[1])
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        // Only ever built from validated ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The two letters as bytes.
    pub fn as_bytes(&self) -> [u8; 2] {
        self.0
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CountryCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

// Active ISO 4217 codes with their minor-unit exponent. Codes not listed are rejected
// rather than guessed, because a wrong exponent silently scales an amount by 100.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An ISO 4217 currency code together with its minor-unit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyCode {
    code: [u8; 3],
    exponent: u8,
}

impl CurrencyCode {
    /// The euro.
    pub const EUR: CurrencyCode = CurrencyCode { code: *b"EUR", exponent: 2 };

    /// An ISO 4217 code with its exponent, or why not.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        // Sorted by code (a test checks it): a binary search, not a scan of 150 codes, for
        // the readers that parse a currency per row (the service's log replay among them).
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(s))
            .ok()
            .map(|i| CURRENCIES[i])
            .map(|(c, e)| {
                let b = c.as_bytes();
                CurrencyCode { code: [b[0], b[1], b[2]], exponent: e }
            })
            .ok_or_else(|| CodeError::Currency(s.to_string()))
    }

    /// Number of decimal places of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    /// The three letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("???")
    }
}

impl fmt::Debug for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for CurrencyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CurrencyCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CurrencyCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How the money moved (`mto` = money-transfer operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A bank transfer (SEPA, SWIFT).
    BankTransfer,
    /// A money transfer operator (Western Union, Remitly...).
    Mto,
    /// A mobile or e-wallet (GCash, PayPal...).
    Wallet,
    /// A card payment.
    Card,
    /// A crypto-asset transfer.
    Crypto,
    /// Cash.
    Cash,
    /// Anything else.
    Other,
}

impl Channel {
    /// Every channel, in the order of the format description.
    pub const ALL: [Channel; 7] = [
        Channel::BankTransfer,
        Channel::Mto,
        Channel::Wallet,
        Channel::Card,
        Channel::Crypto,
        Channel::Cash,
        Channel::Other,
    ];

    /// The name the canonical record uses (`bank_transfer`, `mto`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::BankTransfer => "bank_transfer",
            Channel::Mto => "mto",
            Channel::Wallet => "wallet",
            Channel::Card => "card",
            Channel::Crypto => "crypto",
            Channel::Cash => "cash",
            Channel::Other => "other",
        }
    }

    /// A channel by its canonical name, or why not.
    #[inline]
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        Self::from_ascii(s.as_bytes()).ok_or_else(|| CodeError::Channel(s.to_string()))
    }

    /// [`Channel::parse`] on raw bytes, without the error (see [`CountryCode::from_ascii`]).
    #[inline(always)]
    pub fn from_ascii(b: &[u8]) -> Option<Self> {
        // By length first: at most two compares of a few bytes, on every row.
        match b {
            b"mto" => Some(Channel::Mto),
            b"card" => Some(Channel::Card),
            b"cash" => Some(Channel::Cash),
            b"other" => Some(Channel::Other),
            b"wallet" => Some(Channel::Wallet),
            b"crypto" => Some(Channel::Crypto),
            b"bank_transfer" => Some(Channel::BankTransfer),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn currencies_are_sorted_for_the_binary_search() {
        assert!(super::CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
        for (c, _) in super::CURRENCIES {
            assert_eq!(super::CurrencyCode::parse(c).unwrap().as_str(), *c);
        }
        assert!(super::CurrencyCode::parse("ZZZ").is_err() && super::CurrencyCode::parse("").is_err());
    }

    use super::*;

    #[test]
    fn countries_are_checked_against_the_assigned_list() {
        assert_eq!(CountryCode::parse("PH").unwrap().as_str(), "PH");
        assert_eq!(CountryCode::parse("DE").unwrap().as_str(), "DE");
        assert!(CountryCode::parse("ph").is_err());
        assert!(CountryCode::parse("QQ").is_err());
        assert!(CountryCode::parse("DEU").is_err());
        assert!(CountryCode::parse("").is_err());
    }

    #[test]
    fn currencies_carry_their_exponent() {
        assert_eq!(CurrencyCode::parse("EUR").unwrap().exponent(), 2);
        assert_eq!(CurrencyCode::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(CurrencyCode::parse("KWD").unwrap().exponent(), 3);
        assert!(CurrencyCode::parse("XXX").is_err());
        assert!(CurrencyCode::parse("eur").is_err());
    }

    #[test]
    fn channels_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), c);
        }
        assert!(Channel::parse("swift").is_err());
    }
}

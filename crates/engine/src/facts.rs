//! What one payment says about itself, before any state is read: shared surnames,
//! organisation names, cover-story references and round amounts.

use crate::rules::Settings;
use osecwatch_model::TxnRow;

/// Facts about the current payment, worked out once in [`crate::Engine::process`].
#[derive(Default, Clone, Copy)]
pub(crate) struct PaymentFacts {
    /// Amount in base-currency minor units.
    pub(crate) base: i64,
    pub(crate) cover: bool,
    pub(crate) family: bool,
    pub(crate) corridor: bool,
    pub(crate) novel_recipient: bool,
    pub(crate) novel_country: bool,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
}

/// FNV-1a: a stable hash (unlike std's, it never changes between releases), used for
/// surname matching and alert ids.
pub fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(FNV_OFFSET, |h, x| fnv_step(h, *x))
}

/// FNV-1a of the lower-cased last word of a name, or 0 if it is shorter than two bytes.
/// FNV-1a of a whole name, lower-cased with single spaces (0: fewer than two words, too
/// little to say two wallets have one holder).
pub(crate) fn full_name_hash(name: &str) -> u64 {
    if name.split_whitespace().nth(1).is_none() {
        return 0;
    }
    let mut h: u64 = FNV_OFFSET;
    for (i, w) in name.split_whitespace().enumerate() {
        if i > 0 {
            h = fnv_step(h, b' ');
        }
        for c in w.chars().flat_map(char::to_lowercase) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                h = fnv_step(h, b);
            }
        }
    }
    h
}

pub(crate) fn surname_hash(name: &str) -> u64 {
    let last = name.split_whitespace().next_back().unwrap_or("");
    if last.len() < 2 {
        return 0;
    }
    if last.is_ascii() {
        // Same bytes as `to_lowercase`, without the allocation.
        let mut h: u64 = FNV_OFFSET;
        for b in last.bytes() {
            h = fnv_step(h, b.to_ascii_lowercase());
        }
        h
    } else {
        fnv1a(last.to_lowercase().as_bytes())
    }
}

/// Whether a recipient's name carries one of the pack's organisation markers (a whole
/// word, or a phrase anywhere).
pub(crate) fn is_org(settings: &Settings, name: &str) -> bool {
    let n = name.to_lowercase();
    settings.organisation_markers.iter().any(|m| {
        n.split(|c: char| c.is_whitespace() || c == ',').any(|tok| tok == m.as_str())
            || (m.contains(' ') && n.contains(m.as_str()))
    })
}

/// Whether a reference reads like a cover story (the pack's keywords) or carries an
/// e-mail-like handle.
pub(crate) fn is_cover(settings: &Settings, reference: &str) -> bool {
    if reference.is_empty() {
        return false;
    }
    let r = reference.to_lowercase();
    r.contains('@') || settings.cover_keywords.iter().any(|k| r.contains(k.as_str()))
}

/// Whether an amount is round: a multiple of 5 in the base currency, of 100 in PHP, or a
/// round PHP price paid in the base currency (`php_per_base`: the configured rate).
pub(crate) fn is_round(settings: &Settings, php_per_base: Option<f64>, base_minor: i64, row: &TxnRow<'_>) -> bool {
    let unit = 10i64.pow(settings.base_currency.exponent() as u32);
    if base_minor % (5 * unit) == 0 {
        return true;
    }
    if row.amount.currency.as_str() == "PHP" {
        let u = 10i64.pow(row.amount.currency.exponent() as u32);
        return row.amount.minor % (100 * u) == 0;
    }
    // A round PHP price paid in the base currency (OS-10): within 0.5 % of a multiple
    // of PHP 500 at the configured rate.
    if let Some(php_per_base) = php_per_base {
        let php = base_minor as f64 / unit as f64 * php_per_base;
        if php >= 450.0 {
            let nearest = (php / 500.0).round() * 500.0;
            return ((php - nearest) / nearest).abs() < 0.005;
        }
    }
    false
}

//! The registries a world is built into: ids (unique, keyed mixes of a counter, IBANs with
//! valid check digits at home), names, payees, interned references.

use super::*;

pub(super) const BUILD: u64 = 0xB111D;

/// Builds the population; separate from `World` so the registries can grow while the
/// shared tables are read.
pub(super) struct Builder {
    pub(super) seed: u64,
    pub(super) rng: Rng,
    pub(super) recipients: Vec<Recipient>,
    /// Numeric identity of every id handed out, to keep ids unique without storing strings.
    pub(super) used_ids: FxHashSet<u64>,
    pub(super) id_buf: String,
    pub(super) text: EntityText,
    pub(super) refs: Vec<Box<str>>,
    pub(super) ref_index: HashMap<Box<str>, u32>,
    pub(super) home: CountryCode,
    pub(super) ngos: HashMap<usize, u32>,
}

impl Builder {
    pub(super) fn new(seed: u64, home: CountryCode) -> Builder {
        Builder {
            seed,
            rng: rng_for(seed, BUILD, 0),
            recipients: Vec::new(),
            used_ids: FxHashSet::default(),
            id_buf: String::new(),
            text: EntityText {
                buf: String::new(),
                customers: Vec::new(),
                recipients: Vec::new(),
                second: Default::default(),
                second_wallet: Default::default(),
            },
            refs: vec!["".into()],
            ref_index: HashMap::from([(Box::from(""), 0u32)]),
            home,
            ngos: HashMap::new(),
        }
    }

    pub(super) fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.ref_index.get(s) {
            return *i;
        }
        let i = self.refs.len() as u32;
        self.refs.push(s.into());
        self.ref_index.insert(s.into(), i);
        i
    }

    /// A unique account id, written to `self.id_buf`. Domestic accounts are IBANs with valid
    /// check digits; foreign accounts and wallets are the country code and twelve digits.
    /// Digits come from a keyed mix of a counter, so ids say nothing about who or what is
    /// behind them.
    pub(super) fn new_id(&mut self, country: CountryCode, merchant: bool, own_customer: bool) {
        use std::fmt::Write as _;
        let mut n = self.used_ids.len() as u64;
        let cc = u16::from_be_bytes(country.as_bytes()) as u64;
        loop {
            let x = mix64(self.seed ^ 0x1D5, n);
            n = n.wrapping_add(0x9E37_79B9);
            self.id_buf.clear();
            let key = if merchant {
                let v = x % 10_000_000_000;
                let _ = write!(self.id_buf, "M{country}{v:010}");
                (1 << 62) | (cc << 40) | v
            } else if country == self.home {
                // The institution's own customers share its bank code; other domestic
                // accounts are spread over twenty other banks.
                let which = if own_customer { 0 } else { 1 + (x >> 48) % 20 };
                let bank = 10_000_000 + mix64(self.seed, which) % 89_999_999;
                let acct = x % 10_000_000_000;
                self.id_buf.push_str(&iban(country.as_str(), &format!("{bank:08}{acct:010}")));
                (2 << 62) | (which << 40) | acct
            } else {
                let v = x % 1_000_000_000_000;
                let _ = write!(self.id_buf, "{country}{v:012}");
                (3 << 62) | (cc << 45) | v
            };
            if self.used_ids.insert(key) {
                return;
            }
        }
    }

    pub(super) fn person_name(&mut self, culture: Culture, surname: Option<&'static str>) -> String {
        let given = *culture.given_names().choose(&mut self.rng).expect("every culture has given names");
        let sur = surname
            .unwrap_or_else(|| culture.surnames().choose(&mut self.rng).copied().expect("every culture has surnames"));
        format!("{given} {sur}")
    }

    pub(super) fn add_recipient(&mut self, name: &str, country: CountryCode, kind: RecipientKind, mcc: u16) -> u32 {
        self.new_id(country, kind == RecipientKind::Merchant, false);
        self.text.push_recipient(&self.id_buf, name);
        self.recipients.push(Recipient { country, kind, mcc });
        (self.recipients.len() - 1) as u32
    }

    pub(super) fn add_customer(&mut self, name: &str) {
        self.new_id(self.home, false, true);
        self.text.push_customer(&self.id_buf, name);
    }

    pub(super) fn recipient_name(&self, r: u32) -> &str {
        self.text.recipient(r).1
    }

    pub(super) fn add_person(
        &mut self,
        country: CountryCode,
        kind: RecipientKind,
        surname: Option<&'static str>,
    ) -> u32 {
        let name = self.person_name(Culture::of_country(country.as_str()), surname);
        self.add_recipient(&name, country, kind, 0)
    }

    pub(super) fn pool(&mut self, n: u32, country: CountryCode, stem: &str, mcc: u16, median: f32) -> Pool {
        let mut p = Pool { members: Vec::new(), median: Vec::new() };
        for i in 0..n {
            let name = format!("{stem} {:03}", i + 1);
            let r = self.add_recipient(&name, country, RecipientKind::Merchant, mcc);
            p.members.push(r);
            // Each merchant has its own typical ticket around the category median.
            let m = median * (0.6 + 0.8 * self.rng.random::<f32>());
            p.median.push(m);
        }
        p
    }
}

/// IBAN with ISO 7064 mod-97 check digits.
pub(super) fn iban(country: &str, bban: &str) -> String {
    let mut rem: u32 = 0;
    let rearranged = format!("{bban}{country}00");
    for c in rearranged.chars() {
        let digits = if c.is_ascii_digit() { c.to_digit(10).unwrap_or(0) } else { c as u32 - 'A' as u32 + 10 };
        if digits >= 10 {
            rem = (rem * 100 + digits) % 97;
        } else {
            rem = (rem * 10 + digits) % 97;
        }
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

/// The general customer base's naming cultures (a German bank); buyers are drawn from the
/// same mix, so a name never hints at the archetype.
pub(super) fn general_culture(rng: &mut Rng) -> Culture {
    let x: f64 = rng.random();
    match x {
        x if x < 0.85 => Culture::German,
        x if x < 0.90 => Culture::Turkish,
        x if x < 0.93 => Culture::English,
        x if x < 0.96 => Culture::Romanian,
        x if x < 0.98 => Culture::Hispanic,
        x if x < 0.99 => Culture::Vietnamese,
        _ => Culture::Filipino,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_have_valid_check_digits() {
        let i = iban("DE", "370400440532013000");
        assert_eq!(i, "DE89370400440532013000"); // the well-known example IBAN
    }
}

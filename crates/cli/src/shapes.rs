//! `simulate --export-shape NAME`: a world's payments written as a bank's own export would
//! hold them, to try the shipped mappings (`mappings/NAME.toml`) on, and to test that a
//! mapped export scans like the canonical file.
//!
//! Each shape also holds rows that are not outgoing payments (credits, cancelled orders),
//! which a mapping must skip, not screen.

use anyhow::{bail, Context, Result};
use chrono::DateTime;
use chrono_tz::Europe::Berlin;
use osecwatch_ingest::{read_csv, Location, Rejection, Visitor};
use osecwatch_model::{Channel, TxnRow};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The shapes, with the file each writes.
pub const SHAPES: &[(&str, &str)] =
    &[("de-bank-csv", "export-de-bank-csv.csv"), ("remittance-ledger", "export-remittance-ledger.csv")];

/// The file a shape is written to, or an error naming the shapes there are.
pub fn check_shape(shape: &str) -> Result<&'static str> {
    match SHAPES.iter().find(|(n, _)| *n == shape) {
        Some((_, file)) => Ok(file),
        None => bail!(
            "--export-shape `{shape}`: allowed: {}",
            SHAPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Write `transactions.csv` of a world in `shape`; returns the file written.
pub fn write_shape(shape: &str, world: &Path) -> Result<PathBuf> {
    let out = world.join(check_shape(shape)?);
    let f = std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
    let w = std::io::BufWriter::new(f);
    let mut v = match shape {
        "de-bank-csv" => ShapeWriter::de_bank(w)?,
        _ => ShapeWriter::ledger(w)?,
    };
    read_csv(&world.join("transactions.csv"), &mut v)?;
    if let Some(e) = v.error.take() {
        return Err(e);
    }
    v.csv.flush()?;
    Ok(out)
}

struct ShapeWriter<W: Write> {
    csv: csv::Writer<W>,
    /// German bank export: Windows-1252 text, decimal commas, Berlin local time.
    german: bool,
    n: u64,
    error: Option<anyhow::Error>,
}

impl<W: Write> ShapeWriter<W> {
    /// A German core-banking CSV export: `;`, every field quoted, Windows-1252, dates and
    /// times in Berlin local time, amounts with decimal commas and a sign for direction.
    fn de_bank(w: W) -> Result<Self> {
        let mut csv = csv::WriterBuilder::new().delimiter(b';').quote_style(csv::QuoteStyle::Always).from_writer(w);
        csv.write_record(latin1(&[
            "Buchungsreferenz",
            "Buchungsdatum",
            "Uhrzeit",
            "Auftragskonto",
            "Kontoinhaber",
            "Buchungstext",
            "Verwendungszweck",
            "Begünstigter/Zahlungspflichtiger",
            "Kontonummer/IBAN",
            "Land",
            "Betrag",
            "Währung",
            "Händlerkategorie",
        ]))?;
        Ok(ShapeWriter { csv, german: true, n: 0, error: None })
    }

    /// A remittance company's ledger: `|`, UTF-8 with a BOM, UTC times, a fee column and a
    /// status (only `PAID` orders left the customer's account).
    fn ledger(mut w: W) -> Result<Self> {
        w.write_all(b"\xef\xbb\xbf")?;
        let mut csv = csv::WriterBuilder::new().delimiter(b'|').from_writer(w);
        csv.write_record([
            "transaction_ref",
            "created_at_utc",
            "customer_no",
            "customer_name",
            "customer_country",
            "beneficiary_no",
            "beneficiary_name",
            "payout_country",
            "send_amount",
            "send_currency",
            "fee",
            "product",
            "purpose",
            "mcc",
            "status",
        ])?;
        Ok(ShapeWriter { csv, german: false, n: 0, error: None })
    }

    fn row(&mut self, r: &TxnRow<'_>) -> Result<()> {
        let utc = DateTime::from_timestamp(r.timestamp.utc, 0).context("timestamp out of range")?;
        let mcc = r.merchant_category.map(|m| m.to_string()).unwrap_or_default();
        let amount = r.amount.to_decimal_string();
        if self.german {
            let local = utc.with_timezone(&Berlin);
            let text = match r.channel {
                Channel::BankTransfer => "Überweisung",
                Channel::Mto => "Geldtransfer",
                Channel::Wallet => "E-Wallet",
                Channel::Card => "Kartenzahlung",
                Channel::Crypto => "Krypto",
                Channel::Cash => "Bargeld",
                Channel::Other => "Sonstige",
            };
            let date = local.format("%d.%m.%Y").to_string();
            let time = local.format("%H:%M:%S").to_string();
            let betrag = format!("-{}", german_amount(&amount));
            let fields = [
                r.txn_id,
                &date,
                &time,
                r.sender_id,
                r.sender_name,
                text,
                r.reference,
                r.recipient_name,
                r.recipient_id,
                r.recipient_country.as_str(),
                &betrag,
                r.amount.currency.as_str(),
                &mcc,
            ];
            self.csv.write_record(latin1(&fields))?;
            if self.n.is_multiple_of(40) {
                // A salary credit: a booking on the account that is not a payment out.
                let credit = [
                    &format!("GS{}", r.txn_id),
                    &date,
                    &time,
                    r.sender_id,
                    r.sender_name,
                    "Gutschrift",
                    "Lohn/Gehalt",
                    "Arbeitgeber GmbH",
                    "DE02120300000000202051",
                    "DE",
                    "2.345,67",
                    "EUR",
                    "",
                ];
                self.csv.write_record(latin1(&credit))?;
            }
        } else {
            let created = utc.format("%Y-%m-%d %H:%M:%S").to_string();
            let product = match r.channel {
                Channel::BankTransfer => "BANK_DEPOSIT",
                Channel::Mto => "CASH_PICKUP",
                Channel::Wallet => "MOBILE_WALLET",
                Channel::Card => "CARD",
                Channel::Crypto => "CRYPTO",
                Channel::Cash => "CASH",
                Channel::Other => "OTHER",
            };
            let mut fields = [
                r.txn_id,
                &created,
                r.sender_id,
                r.sender_name,
                r.sender_country.as_str(),
                r.recipient_id,
                r.recipient_name,
                r.recipient_country.as_str(),
                &amount,
                r.amount.currency.as_str(),
                "2.99",
                product,
                r.reference,
                &mcc,
                "PAID",
            ];
            self.csv.write_record(fields)?;
            if self.n.is_multiple_of(40) {
                // An order the customer cancelled before it was paid out.
                let id = format!("C{}", r.txn_id);
                fields[0] = &id;
                fields[14] = "CANCELLED";
                self.csv.write_record(fields)?;
            }
        }
        self.n += 1;
        Ok(())
    }
}

impl<W: Write> Visitor for ShapeWriter<W> {
    fn accept(&mut self, row: &TxnRow<'_>, _: &dyn Fn() -> Location) {
        if self.error.is_none() {
            if let Err(e) = self.row(row) {
                self.error = Some(e);
            }
        }
    }
    fn reject(&mut self, _: Rejection) {}
}

/// `1234.50` as `1.234,50`.
fn german_amount(plain: &str) -> String {
    let (int, frac) = plain.split_once('.').unwrap_or((plain, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// Text as Windows-1252 bytes (characters it lacks become `?`, as such exports do).
fn latin1(fields: &[&str]) -> Vec<Vec<u8>> {
    fields.iter().map(|f| encoding_rs::WINDOWS_1252.encode(f).0.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn german_amounts_group_thousands() {
        assert_eq!(super::german_amount("1234.50"), "1.234,50");
        assert_eq!(super::german_amount("45.00"), "45,00");
        assert_eq!(super::german_amount("1234567.00"), "1.234.567,00");
    }
}

//! ISO 20022 credit transfers: pacs.008 (FI-to-FI, every version .01-.13) and pain.001
//! (customer initiation, every version .03-.13), mapped to the canonical record as in
//! `shared/reference/formats.md` §4.
//!
//! The reader walks the document as a stream of elements and matches paths by local name,
//! so element order, namespace prefixes, version differences (`BIC` / `BICFI`,
//! `ReqdExctnDt` as text or with `Dt`/`DtTm`) and an optional business application header
//! wrapper are all accepted.
//!
//! Security: a document with a DTD (`<!DOCTYPE`) is refused whole, so there is no external
//! entity and no entity expansion; an entity reference other than the five predefined ones
//! and character references is refused too.

use crate::{IngestError, IngestStats, Location, Rejection, Visitor};
use osecwatch_model::{parse_decimal_minor, Channel, CountryCode, CurrencyCode, Money, Timestamp, TxnRow};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

/// Which message family a document carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Pacs008,
    Pain001,
}

/// Options for reading ISO 20022.
#[derive(Debug, Clone)]
pub struct XmlOptions {
    /// Offset (minutes) assumed for `ISODateTime` values without one; ISO 20022 allows
    /// local times without offset, and a date alone is taken at 00:00 in this offset.
    pub assume_offset_min: i16,
    /// Channel reported for these payments (`bank_transfer` unless configured).
    pub channel: Channel,
    /// Channel per sending agent (debtor agent BIC, 8 or 11 characters), e.g. a money
    /// transfer operator's BIC -> `mto`; overrides `channel` for that agent's payments.
    pub channel_by_agent: std::collections::BTreeMap<String, Channel>,
    /// When a party has neither an account nor a party identification, identify it as
    /// `<agent BIC>/<name>` instead of quarantining the payment. Off by default: it is an
    /// entity-resolution choice a bank should make knowingly.
    pub party_fallback: bool,
}

impl Default for XmlOptions {
    fn default() -> Self {
        XmlOptions {
            assume_offset_min: 0,
            channel: Channel::BankTransfer,
            channel_by_agent: Default::default(),
            party_fallback: false,
        }
    }
}

#[derive(Default, Debug, Clone)]
struct Party {
    name: String,
    country: String,
    iban: String,
    other_id: String,
    /// Party identification (OrgId AnyBIC/LEI/Othr, PrvtId Othr) when there is no account.
    party_id: String,
    agent_bic: String,
}

#[derive(Default, Debug, Clone)]
struct Tx {
    uetr: String,
    tx_id: String,
    e2e: String,
    amount: String,
    ccy: String,
    instd_amount: String,
    instd_ccy: String,
    accept_dt: String,
    debtor: Party,
    creditor: Party,
    ustrd: Vec<String>,
    start_byte: u64,
    index: u64,
    /// The first thing in the payment that could not be read (refused entity, bad text).
    problem: Option<String>,
}

/// Read one ISO 20022 file (pacs.008 or pain.001).
pub fn read_iso20022(path: &Path, v: &mut dyn Visitor) -> Result<IngestStats, IngestError> {
    let f = std::fs::File::open(path).map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
    read_iso20022_from(path, std::io::BufReader::new(f), &XmlOptions::default(), v)
}

fn text_of(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len() && path[path.len() - tail.len()..].iter().zip(tail).all(|(a, b)| a == b)
}

/// Read ISO 20022 from any buffered reader; `path` names the source.
pub fn read_iso20022_from<R: BufRead>(
    path: &Path,
    r: R,
    opts: &XmlOptions,
    v: &mut dyn Visitor,
) -> Result<IngestStats, IngestError> {
    let source = path.display().to_string();
    let mut stats = IngestStats::default();
    let mut reader = Reader::from_reader(r);
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut kind: Option<MessageKind> = None;
    let mut grp_cre_dt = String::new();
    // pain.001 payment-information context.
    let mut pmt_inf = Tx::default();
    let mut pmt_inf_id = String::new();
    let mut reqd_exctn = String::new();
    let mut in_pmt_inf = false;
    let mut tx: Option<Tx> = None;
    let mut tx_count = 0u64;
    let mut seen_ids: HashSet<String> = HashSet::new();
    let mut pending_ccy = String::new();
    let mut text = String::new();
    // A problem in the current element's text, and problems that apply to every payment
    // of a payment-information block or of the whole message.
    let mut text_problem: Option<String> = None;
    let mut pmt_problem: Option<String> = None;
    let mut doc_problem: Option<String> = None;
    let mut parser_ok = true;
    let fail = |stats: &mut IngestStats, v: &mut dyn Visitor, position: String, reason: String| {
        stats.read += 1;
        stats.rejected += 1;
        v.reject(Rejection { location: Location { source: source.clone(), position }, reason, raw: String::new() });
    };
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                fail(
                    &mut stats,
                    v,
                    format!("byte {at}"),
                    format!("malformed XML: {e}; the rest of the file is not read"),
                );
                parser_ok = false;
                break;
            }
        };
        match ev {
            Event::Eof => break,
            Event::DocType(_) => {
                fail(
                    &mut stats,
                    v,
                    format!("byte {pos}"),
                    "DTD declarations are refused (no external entities, no entity expansion); the file is not read"
                        .into(),
                );
                parser_ok = false;
                break;
            }
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if kind.is_none() {
                    if name == "FIToFICstmrCdtTrf" {
                        kind = Some(MessageKind::Pacs008);
                    } else if name == "CstmrCdtTrfInitn" {
                        kind = Some(MessageKind::Pain001);
                    } else if name == "Document" {
                        // pacs.008.001.01 has no FIToFICstmrCdtTrf wrapper; know it by namespace.
                        for a in e.attributes().flatten() {
                            let val = String::from_utf8_lossy(&a.value).into_owned();
                            if val.contains("pacs.008.001.01") {
                                kind = Some(MessageKind::Pacs008);
                            }
                        }
                    }
                }
                if name == "PmtInf" && kind == Some(MessageKind::Pain001) {
                    in_pmt_inf = true;
                    pmt_inf = Tx::default();
                    pmt_problem = None;
                    pmt_inf_id.clear();
                    reqd_exctn.clear();
                }
                if name == "CdtTrfTxInf" {
                    tx_count += 1;
                    let mut t = if in_pmt_inf {
                        Tx { debtor: pmt_inf.debtor.clone(), problem: pmt_problem.clone(), ..Default::default() }
                    } else {
                        Tx::default()
                    };
                    t.start_byte = pos;
                    t.index = tx_count;
                    tx = Some(t);
                }
                pending_ccy.clear();
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == b"Ccy" {
                        match a.unescape_value() {
                            Ok(val) => pending_ccy = val.into_owned(),
                            Err(err) => {
                                text_problem.get_or_insert(format!("currency attribute: {err}"));
                            }
                        }
                    }
                }
                stack.push(name);
                text.clear();
                if text_problem.is_some() {
                    // An attribute problem belongs to the element just opened.
                    let p = text_problem.take().unwrap_or_default();
                    note_problem(
                        &mut tx,
                        in_pmt_inf,
                        &mut pmt_problem,
                        &mut doc_problem,
                        format!("{}: {p}", stack.last().map(String::as_str).unwrap_or("?")),
                    );
                }
            }
            Event::Empty(_) => {}
            Event::Text(t) => match t.decode() {
                Ok(s) => text.push_str(&s),
                Err(e) => {
                    text_problem.get_or_insert(format!("undecodable text: {e}"));
                }
            },
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(c)) => text.push(c),
                _ => {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    match name.as_str() {
                        "amp" => text.push('&'),
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "quot" => text.push('"'),
                        "apos" => text.push('\''),
                        other => {
                            text_problem.get_or_insert(format!("entity reference &{other}; refused"));
                        }
                    }
                }
            },
            Event::End(_) => {
                if let Some(p) = text_problem.take() {
                    let at = stack.last().map(String::as_str).unwrap_or("?");
                    note_problem(&mut tx, in_pmt_inf, &mut pmt_problem, &mut doc_problem, format!("{at}: {p}"));
                }
                let value = std::mem::take(&mut text).trim().to_string();
                let p = &stack;
                // Group header.
                if text_of(p, &["GrpHdr", "CreDtTm"]) {
                    grp_cre_dt = value.clone();
                }
                if in_pmt_inf && tx.is_none() {
                    let d = &mut pmt_inf.debtor;
                    if text_of(p, &["PmtInf", "PmtInfId"]) {
                        pmt_inf_id = value.clone();
                    } else if text_of(p, &["PmtInf", "ReqdExctnDt"])
                        || text_of(p, &["ReqdExctnDt", "Dt"])
                        || text_of(p, &["ReqdExctnDt", "DtTm"])
                    {
                        reqd_exctn = value.clone();
                    } else {
                        party_field(p, "Dbtr", "DbtrAcct", "DbtrAgt", d, &value);
                    }
                }
                if let Some(t) = tx.as_mut() {
                    if text_of(p, &["PmtId", "UETR"]) {
                        t.uetr = value.clone();
                    } else if text_of(p, &["PmtId", "TxId"]) {
                        t.tx_id = value.clone();
                    } else if text_of(p, &["PmtId", "EndToEndId"]) {
                        t.e2e = value.clone();
                    } else if text_of(p, &["CdtTrfTxInf", "IntrBkSttlmAmt"]) {
                        t.amount = value.clone();
                        t.ccy = std::mem::take(&mut pending_ccy);
                    } else if text_of(p, &["CdtTrfTxInf", "InstdAmt"])
                        || text_of(p, &["Amt", "InstdAmt"])
                        || (t.instd_amount.is_empty() && text_of(p, &["EqvtAmt", "Amt"]))
                    {
                        t.instd_amount = value.clone();
                        t.instd_ccy = std::mem::take(&mut pending_ccy);
                    } else if text_of(p, &["CdtTrfTxInf", "AccptncDtTm"]) {
                        t.accept_dt = value.clone();
                    } else if text_of(p, &["RmtInf", "Ustrd"]) {
                        t.ustrd.push(value.clone());
                    } else {
                        party_field(p, "Dbtr", "DbtrAcct", "DbtrAgt", &mut t.debtor, &value);
                        party_field(p, "Cdtr", "CdtrAcct", "CdtrAgt", &mut t.creditor, &value);
                    }
                }
                let ended = stack.pop().unwrap_or_default();
                if ended == "CdtTrfTxInf" {
                    if let Some(mut t) = tx.take() {
                        if t.problem.is_none() {
                            t.problem = doc_problem.clone();
                        }
                        let position = format!("CdtTrfTxInf #{} (byte {})", t.index, t.start_byte);
                        stats.read += 1;
                        let ts_text = match kind {
                            Some(MessageKind::Pain001) => {
                                if reqd_exctn.is_empty() {
                                    grp_cre_dt.clone()
                                } else {
                                    reqd_exctn.clone()
                                }
                            }
                            _ => {
                                if t.accept_dt.is_empty() {
                                    grp_cre_dt.clone()
                                } else {
                                    t.accept_dt.clone()
                                }
                            }
                        };
                        let id = match kind {
                            Some(MessageKind::Pain001) => {
                                // EndToEndId when it identifies the payment; otherwise made
                                // unique with the payment-information id and position.
                                if seen_ids.contains(&t.e2e) || t.e2e.is_empty() || t.e2e == "NOTPROVIDED" {
                                    format!("{pmt_inf_id}/{}#{}", if t.e2e.is_empty() { "-" } else { &t.e2e }, t.index)
                                } else {
                                    t.e2e.clone()
                                }
                            }
                            _ => [&t.uetr, &t.tx_id, &t.e2e]
                                .iter()
                                .find(|s| !s.is_empty())
                                .map(|s| s.to_string())
                                .unwrap_or_default(),
                        };
                        let reference = t.ustrd.join(" ");
                        let (fb_d, fb_c) = (fallback_id(&t.debtor), fallback_id(&t.creditor));
                        match build_row(&t, &id, &ts_text, &reference, opts, kind, &fb_d, &fb_c) {
                            Ok(row) => {
                                seen_ids.insert(t.e2e.clone());
                                stats.accepted += 1;
                                let loc = || Location { source: source.clone(), position: position.clone() };
                                v.accept(&row, &loc);
                            }
                            Err(reason) => {
                                stats.rejected += 1;
                                v.reject(Rejection {
                                    location: Location { source: source.clone(), position },
                                    reason,
                                    raw: id,
                                });
                            }
                        }
                    }
                }
                if ended == "PmtInf" {
                    in_pmt_inf = false;
                }
            }
            _ => {}
        }
        buf.clear();
    }
    if parser_ok && kind.is_none() {
        fail(
            &mut stats,
            v,
            "document".into(),
            "not a pacs.008 (FIToFICstmrCdtTrf) or pain.001 (CstmrCdtTrfInitn) credit transfer; nothing to screen"
                .into(),
        );
    }
    Ok(stats)
}

fn party_field(p: &[String], who: &str, acct: &str, agent: &str, party: &mut Party, value: &str) {
    if text_of(p, &[who, "Nm"]) {
        party.name = value.to_string();
    } else if text_of(p, &[who, "PstlAdr", "Ctry"]) {
        party.country = value.to_string();
    } else if text_of(p, &[acct, "Id", "IBAN"]) {
        party.iban = value.to_string();
    } else if text_of(p, &[acct, "Id", "Othr", "Id"]) {
        party.other_id = value.to_string();
    } else if text_of(p, &[agent, "FinInstnId", "BICFI"]) || text_of(p, &[agent, "FinInstnId", "BIC"]) {
        party.agent_bic = value.to_string();
    } else if party.party_id.is_empty()
        && (text_of(p, &[who, "Id", "OrgId", "AnyBIC"])
            || text_of(p, &[who, "Id", "OrgId", "BICOrBEI"])
            || text_of(p, &[who, "Id", "OrgId", "LEI"])
            || text_of(p, &[who, "Id", "OrgId", "Othr", "Id"])
            || text_of(p, &[who, "Id", "PrvtId", "Othr", "Id"]))
    {
        party.party_id = value.to_string();
    }
}

/// Attach a reading problem to the payment being read, else to every payment of the
/// payment-information block, else to every payment of the message.
fn note_problem(tx: &mut Option<Tx>, in_pmt_inf: bool, pmt: &mut Option<String>, doc: &mut Option<String>, p: String) {
    match tx {
        Some(t) => {
            t.problem.get_or_insert(p);
        }
        None if in_pmt_inf => {
            pmt.get_or_insert(p);
        }
        None => {
            doc.get_or_insert(p);
        }
    }
}

fn country(p: &Party, role: &str) -> Result<CountryCode, String> {
    if !p.country.is_empty() {
        return CountryCode::parse(p.country.trim()).map_err(|e| format!("{role} country: {e}"));
    }
    if p.iban.len() >= 2 {
        if let Ok(c) = CountryCode::parse(&p.iban[..2]) {
            return Ok(c);
        }
    }
    if p.agent_bic.len() >= 6 && p.agent_bic.is_char_boundary(6) && p.agent_bic.is_char_boundary(4) {
        if let Ok(c) = CountryCode::parse(&p.agent_bic[4..6]) {
            return Ok(c);
        }
    }
    Err(format!("{role} country cannot be derived (no PstlAdr/Ctry, IBAN or agent BIC)"))
}

/// `ISODateTime` (with or without offset, `Z`, fractions) or `ISODate`.
fn timestamp(s: &str, assume: i16) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    let sign = if assume < 0 { '-' } else { '+' };
    let off = format!("{sign}{:02}:{:02}", assume.unsigned_abs() / 60, assume.unsigned_abs() % 60);
    let candidate = if s.len() == 10 { format!("{s}T00:00:00{off}") } else { format!("{s}{off}") };
    Timestamp::parse_rfc3339(&candidate)
        .map_err(|_| format!("date/time `{s}` is not an ISO 20022 ISODateTime or ISODate"))
}

fn party_id<'a>(
    p: &'a Party,
    o: &XmlOptions,
    fallback: &'a str,
    role: &str,
    acct: &str,
    who: &str,
) -> Result<&'a str, String> {
    for c in [&p.iban, &p.other_id, &p.party_id] {
        if !c.trim().is_empty() {
            return Ok(c.trim());
        }
    }
    if o.party_fallback && !fallback.is_empty() {
        return Ok(fallback);
    }
    Err(format!(
        "no {role} account or identification ({acct}/Id/IBAN, {acct}/Id/Othr/Id or {who}/Id){}",
        if o.party_fallback { "; name and agent BIC are missing too" } else { "" }
    ))
}

/// The configured channel of the debtor agent (full BIC or its 8-character institution
/// part), else the default.
fn agent_channel(o: &XmlOptions, bic: &str) -> Channel {
    let bic = bic.trim();
    o.channel_by_agent
        .get(bic)
        .or_else(|| bic.get(..8).and_then(|b| o.channel_by_agent.get(b)))
        .copied()
        .unwrap_or(o.channel)
}

/// `<agent BIC>/<name>` for parties known only by name, when allowed.
fn fallback_id(p: &Party) -> String {
    if p.agent_bic.trim().is_empty() || p.name.trim().is_empty() {
        String::new()
    } else {
        format!("{}/{}", p.agent_bic.trim(), p.name.trim())
    }
}

#[allow(clippy::too_many_arguments)]
fn build_row<'a>(
    t: &'a Tx,
    id: &'a str,
    ts: &str,
    reference: &'a str,
    o: &XmlOptions,
    kind: Option<MessageKind>,
    fb_debtor: &'a str,
    fb_creditor: &'a str,
) -> Result<TxnRow<'a>, String> {
    if let Some(p) = &t.problem {
        return Err(p.clone());
    }
    if id.is_empty() {
        return Err("no payment id (PmtId/UETR, TxId or EndToEndId)".into());
    }
    if ts.is_empty() {
        return Err("no date/time (GrpHdr/CreDtTm, AccptncDtTm or ReqdExctnDt)".into());
    }
    let timestamp = timestamp(ts, o.assume_offset_min)?;
    let (amt, ccy) = if !t.instd_amount.is_empty() && (kind == Some(MessageKind::Pain001) || !t.instd_ccy.is_empty()) {
        (&t.instd_amount, &t.instd_ccy)
    } else {
        (&t.amount, &t.ccy)
    };
    if amt.is_empty() {
        return Err("no amount (IntrBkSttlmAmt, InstdAmt or Amt/InstdAmt)".into());
    }
    let currency = CurrencyCode::parse(ccy.trim()).map_err(|e| format!("currency: {e}"))?;
    let minor = parse_decimal_minor(amt.trim(), currency.exponent()).map_err(|e| e.to_string())?;
    if minor <= 0 {
        return Err(format!("amount `{amt}` must be strictly positive"));
    }
    let sender_id = party_id(&t.debtor, o, fb_debtor, "debtor", "DbtrAcct", "Dbtr")?;
    let recipient_id = party_id(&t.creditor, o, fb_creditor, "creditor", "CdtrAcct", "Cdtr")?;
    Ok(TxnRow {
        txn_id: id,
        timestamp,
        sender_id: sender_id.trim(),
        sender_name: t.debtor.name.trim(),
        sender_country: country(&t.debtor, "debtor")?,
        recipient_id: recipient_id.trim(),
        recipient_name: t.creditor.name.trim(),
        recipient_country: country(&t.creditor, "creditor")?,
        amount: Money::new(minor, currency),
        channel: agent_channel(o, &t.debtor.agent_bic),
        reference: reference.trim(),
        merchant_category: None,
    })
}

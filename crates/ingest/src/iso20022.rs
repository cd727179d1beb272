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
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

/// Which message family a document carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// pacs.008: FI-to-FI customer credit transfer.
    Pacs008,
    /// pain.001: customer credit transfer initiation.
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
    let mut reader = Reader::from_reader(r);
    let mut buf = Vec::new();
    let mut w = Walker::new(path.display().to_string(), opts);
    loop {
        let pos = reader.buffer_position();
        let ev = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                w.fail(
                    v,
                    format!("document (byte {at})"),
                    format!("malformed XML: {e}; the rest of the file is not read"),
                );
                return Ok(w.stats);
            }
        };
        match ev {
            Event::Eof => {
                if let Some(open) = w.stack.last() {
                    let why = format!(
                        "the document ends inside <{open}> with {} element(s) never closed: it was cut short; payments after the last complete one are missing",
                        w.stack.len()
                    );
                    w.fail(v, format!("document (byte {pos})"), why);
                    return Ok(w.stats);
                }
                break;
            }
            Event::DocType(_) => {
                let why =
                    "DTD declarations are refused (no external entities, no entity expansion); the file is not read";
                w.fail(v, format!("document (byte {pos})"), why.into());
                return Ok(w.stats);
            }
            Event::Start(e) => {
                w.start(&e, pos);
                if let Some(why) = w.refused.take() {
                    w.fail(v, format!("document (byte {pos})"), why);
                    return Ok(w.stats);
                }
            }
            Event::Empty(_) => {}
            Event::Text(t) => match t.decode() {
                Ok(s) => w.text.push_str(&s),
                Err(e) => {
                    w.text_problem.get_or_insert(format!("undecodable text: {e}"));
                }
            },
            Event::CData(t) => w.text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) => w.reference(&r),
            Event::End(_) => w.end(v),
            _ => {}
        }
        buf.clear();
    }
    Ok(w.finish(v))
}

/// A pain.001 payment-information block: what its payments share.
#[derive(Default)]
struct PaymentBlock {
    /// Inside a `PmtInf` element.
    open: bool,
    /// The debtor side, copied into each payment of the block.
    shared: Tx,
    id: String,
    requested_execution: String,
    /// A reading problem that applies to every payment of the block.
    problem: Option<String>,
}

/// One walk through a document: where it is, what the current payment holds so far, and
/// the counts.
struct Walker<'o> {
    source: String,
    opts: &'o XmlOptions,
    stats: IngestStats,
    /// Local names of the open elements.
    stack: Vec<String>,
    kind: Option<MessageKind>,
    /// `GrpHdr/CreDtTm`, the time of payments that have no time of their own.
    group_created: String,
    block: PaymentBlock,
    /// The payment being read (inside `CdtTrfTxInf`).
    tx: Option<Tx>,
    tx_count: u64,
    /// EndToEndIds already used as payment ids (pain.001).
    seen_ids: HashSet<String>,
    /// The `Ccy` attribute of the element just opened.
    pending_ccy: String,
    /// The current element's text.
    text: String,
    /// A problem in the current element's text or attributes.
    text_problem: Option<String>,
    /// A problem that applies to every payment of the message.
    doc_problem: Option<String>,
    /// Why the whole document is refused, once known (the reader stops there).
    refused: Option<String>,
}

impl<'o> Walker<'o> {
    fn new(source: String, opts: &'o XmlOptions) -> Walker<'o> {
        Walker {
            source,
            opts,
            stats: IngestStats::default(),
            stack: Vec::new(),
            kind: None,
            group_created: String::new(),
            block: PaymentBlock::default(),
            tx: None,
            tx_count: 0,
            seen_ids: HashSet::new(),
            pending_ccy: String::new(),
            text: String::new(),
            text_problem: None,
            doc_problem: None,
            refused: None,
        }
    }

    /// A rejection of the whole document (or of what is left of it).
    fn fail(&mut self, v: &mut dyn Visitor, position: String, reason: String) {
        self.stats.read += 1;
        self.stats.rejected += 1;
        let location = Location { source: self.source.clone(), position };
        v.reject(Rejection { location, reason, raw: String::new() });
    }

    /// An element opens: the message kind, a payment-information block or a payment may
    /// start here, and a `Ccy` attribute is kept for the amount inside.
    fn start(&mut self, e: &BytesStart<'_>, pos: u64) {
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.kind.is_none() {
            if name == "FIToFICstmrCdtTrf" {
                self.kind = Some(MessageKind::Pacs008);
            } else if name == "CstmrCdtTrfInitn" {
                self.kind = Some(MessageKind::Pain001);
            } else if name == "Document" {
                match document_namespace(e) {
                    Ok(ns) => {
                        // pacs.008.001.01 has no FIToFICstmrCdtTrf wrapper; know it by namespace.
                        if ns.contains("pacs.008.001.01") {
                            self.kind = Some(MessageKind::Pacs008);
                        }
                    }
                    Err(why) => self.refused = Some(why),
                }
            }
        }
        if name == "PmtInf" && self.kind == Some(MessageKind::Pain001) {
            self.block = PaymentBlock { open: true, ..PaymentBlock::default() };
        }
        if name == "CdtTrfTxInf" {
            self.tx_count += 1;
            let mut t = if self.block.open {
                Tx {
                    debtor: self.block.shared.debtor.clone(),
                    problem: self.block.problem.clone(),
                    ..Default::default()
                }
            } else {
                Tx::default()
            };
            t.start_byte = pos;
            t.index = self.tx_count;
            self.tx = Some(t);
        }
        self.pending_ccy.clear();
        for a in e.attributes().flatten() {
            if a.key.local_name().as_ref() == b"Ccy" {
                match a.unescape_value() {
                    Ok(val) => self.pending_ccy = val.into_owned(),
                    Err(err) => {
                        self.text_problem.get_or_insert(format!("currency attribute: {err}"));
                    }
                }
            }
        }
        self.stack.push(name);
        self.text.clear();
        if let Some(p) = self.text_problem.take() {
            // An attribute problem belongs to the element just opened.
            let at = self.stack.last().map(String::as_str).unwrap_or("?");
            let p = format!("{at}: {p}");
            self.note_problem(p);
        }
    }

    /// An entity or character reference in text: the five predefined entities and
    /// character references are text; any other entity is refused.
    fn reference(&mut self, r: &BytesRef<'_>) {
        if let Ok(Some(c)) = r.resolve_char_ref() {
            self.text.push(c);
            return;
        }
        let name = String::from_utf8_lossy(r);
        match name.as_ref() {
            "amp" => self.text.push('&'),
            "lt" => self.text.push('<'),
            "gt" => self.text.push('>'),
            "quot" => self.text.push('"'),
            "apos" => self.text.push('\''),
            other => {
                self.text_problem.get_or_insert(format!("entity reference &{other}; refused"));
            }
        }
    }

    /// An element closes: its text goes to the field its path names, and a payment that
    /// ends here is built and handed over.
    fn end(&mut self, v: &mut dyn Visitor) {
        if let Some(p) = self.text_problem.take() {
            let at = self.stack.last().map(String::as_str).unwrap_or("?");
            let p = format!("{at}: {p}");
            self.note_problem(p);
        }
        let value = std::mem::take(&mut self.text).trim().to_string();
        self.field(&value);
        let ended = self.stack.pop().unwrap_or_default();
        if ended == "CdtTrfTxInf" {
            if let Some(t) = self.tx.take() {
                self.payment(t, v);
            }
        }
        if ended == "PmtInf" {
            self.block.open = false;
        }
    }

    /// The text of the element at the top of the stack, to the field its path names.
    fn field(&mut self, value: &str) {
        let p = &self.stack;
        // Group header.
        if text_of(p, &["GrpHdr", "CreDtTm"]) {
            self.group_created = value.to_string();
        }
        if self.block.open && self.tx.is_none() {
            let b = &mut self.block;
            if text_of(p, &["PmtInf", "PmtInfId"]) {
                b.id = value.to_string();
            } else if text_of(p, &["PmtInf", "ReqdExctnDt"])
                || text_of(p, &["ReqdExctnDt", "Dt"])
                || text_of(p, &["ReqdExctnDt", "DtTm"])
            {
                b.requested_execution = value.to_string();
            } else {
                party_field(p, "Dbtr", "DbtrAcct", "DbtrAgt", &mut b.shared.debtor, value);
            }
        }
        if let Some(t) = self.tx.as_mut() {
            if text_of(p, &["PmtId", "UETR"]) {
                t.uetr = value.to_string();
            } else if text_of(p, &["PmtId", "TxId"]) {
                t.tx_id = value.to_string();
            } else if text_of(p, &["PmtId", "EndToEndId"]) {
                t.e2e = value.to_string();
            } else if text_of(p, &["CdtTrfTxInf", "IntrBkSttlmAmt"]) {
                t.amount = value.to_string();
                t.ccy = std::mem::take(&mut self.pending_ccy);
            } else if text_of(p, &["CdtTrfTxInf", "InstdAmt"])
                || text_of(p, &["Amt", "InstdAmt"])
                || (t.instd_amount.is_empty() && text_of(p, &["EqvtAmt", "Amt"]))
            {
                t.instd_amount = value.to_string();
                t.instd_ccy = std::mem::take(&mut self.pending_ccy);
            } else if text_of(p, &["CdtTrfTxInf", "AccptncDtTm"]) {
                t.accept_dt = value.to_string();
            } else if text_of(p, &["RmtInf", "Ustrd"]) {
                t.ustrd.push(value.to_string());
            } else {
                party_field(p, "Dbtr", "DbtrAcct", "DbtrAgt", &mut t.debtor, value);
                party_field(p, "Cdtr", "CdtrAcct", "CdtrAgt", &mut t.creditor, value);
            }
        }
    }

    /// A payment has been read whole: build its row and hand it over, or its rejection.
    fn payment(&mut self, mut t: Tx, v: &mut dyn Visitor) {
        if t.problem.is_none() {
            t.problem = self.doc_problem.clone();
        }
        let position = format!("CdtTrfTxInf #{} (byte {})", t.index, t.start_byte);
        self.stats.read += 1;
        let or_group = |own: &str| if own.is_empty() { self.group_created.clone() } else { own.to_string() };
        let ts_text = match self.kind {
            Some(MessageKind::Pain001) => or_group(&self.block.requested_execution),
            _ => or_group(&t.accept_dt),
        };
        let id = match self.kind {
            Some(MessageKind::Pain001) => {
                // EndToEndId when it identifies the payment; otherwise made unique with
                // the payment-information id and position.
                if self.seen_ids.contains(&t.e2e) || t.e2e.is_empty() || t.e2e == "NOTPROVIDED" {
                    format!("{}/{}#{}", self.block.id, if t.e2e.is_empty() { "-" } else { &t.e2e }, t.index)
                } else {
                    t.e2e.clone()
                }
            }
            _ => [&t.uetr, &t.tx_id, &t.e2e].iter().find(|s| !s.is_empty()).map(|s| s.to_string()).unwrap_or_default(),
        };
        let reference = t.ustrd.join(" ");
        let fallback = (fallback_id(&t.debtor), fallback_id(&t.creditor));
        let parsed = Parsed {
            tx: &t,
            id: &id,
            timestamp: &ts_text,
            reference: &reference,
            fallback: (&fallback.0, &fallback.1),
        };
        match build_row(&parsed, self.opts, self.kind) {
            Ok(row) => {
                self.seen_ids.insert(t.e2e.clone());
                self.stats.accepted += 1;
                let loc = || Location { source: self.source.clone(), position: position.clone() };
                v.accept(&row, &loc);
            }
            Err(reason) => {
                self.stats.rejected += 1;
                let location = Location { source: self.source.clone(), position };
                v.reject(Rejection { location, reason, raw: id.clone() });
            }
        }
    }

    /// Attach a reading problem to the payment being read, else to every payment of the
    /// payment-information block, else to every payment of the message.
    fn note_problem(&mut self, p: String) {
        match &mut self.tx {
            Some(t) => {
                t.problem.get_or_insert(p);
            }
            None if self.block.open => {
                self.block.problem.get_or_insert(p);
            }
            None => {
                self.doc_problem.get_or_insert(p);
            }
        }
    }

    /// The end of a well-formed document: one that is no credit transfer is refused whole.
    fn finish(mut self, v: &mut dyn Visitor) -> IngestStats {
        if self.kind.is_none() {
            let why =
                "not a pacs.008 (FIToFICstmrCdtTrf) or pain.001 (CstmrCdtTrfInitn) credit transfer; nothing to screen";
            self.fail(v, "document".into(), why.into());
        }
        self.stats
    }
}

/// The namespace of a `Document` element, which must be that of a pacs.008 or pain.001
/// message (`urn:iso:std:iso:20022:tech:xsd:pacs.008.001.NN` / `pain.001.001.NN`): a document
/// of another kind or with no namespace is not read as a payment message.
fn document_namespace(e: &BytesStart<'_>) -> Result<String, String> {
    let key = match e.name().prefix() {
        Some(p) => [b"xmlns:".as_slice(), p.as_ref()].concat(),
        None => b"xmlns".to_vec(),
    };
    let ns = e
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key.as_slice())
        .map(|a| String::from_utf8_lossy(&a.value).into_owned());
    const BASE: &str = "urn:iso:std:iso:20022:tech:xsd:";
    let Some(ns) = ns else {
        return Err(format!("the Document element has no namespace: expected {BASE}pacs.008.001.NN or {BASE}pain.001.001.NN; the message is not read"));
    };
    let ok = ns.strip_prefix(BASE).is_some_and(|rest| {
        let version = rest.strip_prefix("pacs.008.001.").or_else(|| rest.strip_prefix("pain.001.001."));
        version.is_some_and(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()))
    });
    if ok {
        Ok(ns)
    } else {
        let shown: String = ns.chars().take(80).collect();
        Err(format!("namespace `{shown}`: not a pacs.008 or pain.001 message ({BASE}pacs.008.001.NN or pain.001.001.NN); the message is not read"))
    }
}

/// Whether a rejection refuses a whole document (malformed, cut short, a DTD, the wrong
/// namespace or kind) rather than one payment of it: the service then refuses the message.
pub fn is_document_refusal(r: &Rejection) -> bool {
    r.location.position.starts_with("document")
}

/// What one payment's row is built from: the payment as read, and the values worked out
/// for it (id, time, reference, fallback ids of both parties).
struct Parsed<'a> {
    tx: &'a Tx,
    id: &'a str,
    timestamp: &'a str,
    reference: &'a str,
    /// `<agent BIC>/<name>` of the debtor and the creditor (empty when not known).
    fallback: (&'a str, &'a str),
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

fn build_row<'a>(p: &Parsed<'a>, o: &XmlOptions, kind: Option<MessageKind>) -> Result<TxnRow<'a>, String> {
    let Parsed { tx: t, id, timestamp: ts, reference, fallback: (fb_debtor, fb_creditor) } = *p;
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
    let texts = [
        id,
        "",
        sender_id.trim(),
        t.debtor.name.trim(),
        "",
        recipient_id.trim(),
        t.creditor.name.trim(),
        "",
        "",
        "",
        "",
        reference.trim(),
        "",
    ];
    crate::row::check_lengths(|i| texts[i].len())?;
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

//! The chunked, parallel CSV reader against a plain `csv::Reader` loop: same rows, same
//! rejections with the same reasons, same order, whatever the block size and the number of
//! workers; line numbers are those of the line each record starts on.

use osecwatch_ingest::*;
use osecwatch_model::{Transaction, TxnRow, CANONICAL_COLUMNS};
use proptest::prelude::*;
use std::io::Read;
use std::path::Path;

const HEADER: &str = "txn_id,timestamp,sender_id,sender_name,sender_country,recipient_id,recipient_name,recipient_country,amount,currency,channel,reference,merchant_category";

/// What a reader handed over, in order: (line, row or (reason, raw)).
type Seen = Vec<(String, Result<Transaction, (String, String)>)>;

#[derive(Default)]
struct Collect(Seen);

impl Visitor for Collect {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        self.0.push((loc().position, Ok(row.to_owned_txn())));
    }
    fn reject(&mut self, r: Rejection) {
        self.0.push((r.location.position, Err((r.reason, r.raw))));
    }
}

/// The reference: the `csv` crate record by record, then the shared row validation. The
/// line is where the record starts: after the previous record, past any empty lines.
fn reference(data: &[u8]) -> Result<(IngestStats, Seen), String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(data);
    let headers = rdr.byte_headers().map_err(|e| e.to_string())?.clone();
    let names: Vec<String> = headers.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    let pos: Vec<Option<usize>> =
        CANONICAL_COLUMNS.iter().map(|c| names.iter().position(|n| n.trim_start_matches('\u{feff}') == *c)).collect();
    let mut parser = RowParser::default();
    let mut seen = Seen::new();
    let mut stats = IngestStats::default();
    let mut rec = csv::ByteRecord::new();
    let (mut counted, mut lines_before) = (0usize, 0usize);
    loop {
        let mut start = rdr.position().byte() as usize;
        if !rdr.read_byte_record(&mut rec).map_err(|e| e.to_string())? {
            break;
        }
        while start < data.len() && (data[start] == b'\n' || data[start] == b'\r') {
            start += 1;
        }
        lines_before += data[counted..start].iter().filter(|b| **b == b'\n').count();
        counted = start;
        let line = format!("line {}", 1 + lines_before);
        stats.read += 1;
        let joined = |r: &csv::ByteRecord| {
            let s = r.iter().map(String::from_utf8_lossy).collect::<Vec<_>>().join(",");
            if s.len() > 400 {
                None
            } else {
                Some(s)
            }
        };
        let outcome = if rec.len() != headers.len() {
            Err((format!("row has {} fields, header has {}", rec.len(), headers.len()), joined(&rec)))
        } else if let Some(bad) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
            let col = pos.iter().position(|p| *p == Some(bad)).map_or("an ignored column", |c| CANONICAL_COLUMNS[c]);
            Err((format!("field `{col}` is not valid UTF-8"), joined(&rec)))
        } else {
            let s = csv::StringRecord::from_byte_record(rec.clone()).map_err(|e| e.to_string())?;
            let mut f = [""; 13];
            for (c, p) in pos.iter().enumerate() {
                if let Some(i) = p {
                    f[c] = &s[*i];
                }
            }
            parser.parse(&f).map(|r| r.to_owned_txn()).map_err(|e| (e, joined(&rec)))
        };
        match outcome {
            Ok(t) => {
                stats.accepted += 1;
                seen.push((line, Ok(t)));
            }
            Err((reason, raw)) => {
                stats.rejected += 1;
                // Long raw text is clipped by the reader; compare only what is not clipped.
                seen.push((line, Err((reason, raw.unwrap_or_default()))));
            }
        }
    }
    Ok((stats, seen))
}

fn chunked(data: &[u8], block: usize, workers: usize) -> Result<(IngestStats, Seen), String> {
    let mut c = Collect::default();
    let s =
        read_csv_with(Path::new("f.csv"), data, CsvOptions { block, workers }, &mut c).map_err(|e| e.to_string())?;
    Ok((s, unclipped(c.0)))
}

/// Long raw text is clipped by the reader; the reference leaves it empty to compare only
/// what is not clipped.
fn unclipped(mut seen: Seen) -> Seen {
    for (_, o) in seen.iter_mut() {
        if let Err((_, raw)) = o {
            if raw.len() > 400 {
                raw.clear();
            }
        }
    }
    seen
}

/// Wants rows by a property of their free text, so the row it is shown must be the whole row.
struct ByName;

impl Prefilter for ByName {
    fn wants<'a>(&self, _: &osecwatch_ingest::Coded, row: &dyn Fn() -> TxnRow<'a>) -> bool {
        let row = row();
        (row.sender_name.len() + row.reference.chars().count()).is_multiple_of(2)
    }
}

/// Collects accepted and passed rows alike, checking each went where the prefilter said.
/// With `take_runs`, it takes runs of passed rows whole where they start no earlier than
/// every row before them (as the scan does), and keeps only their counts.
#[derive(Default)]
struct Sorted(Collect, SortedRuns);

#[derive(Default)]
struct SortedRuns {
    take_runs: bool,
    taken: Vec<u64>,
    latest: i64,
}

impl Visitor for Sorted {
    fn accept(&mut self, row: &TxnRow<'_>, loc: &dyn Fn() -> Location) {
        assert!(ByName.wants_row(row), "accepted a row the prefilter did not want: {row:?}");
        self.1.latest = self.1.latest.max(row.timestamp.utc);
        self.0.accept(row, loc);
    }
    fn reject(&mut self, r: Rejection) {
        self.0.reject(r);
    }
    fn pass<'a>(&mut self, at: osecwatch_model::Timestamp, row: &dyn Fn() -> TxnRow<'a>, loc: &dyn Fn() -> Location) {
        let row = row();
        assert_eq!(row.timestamp, at);
        assert!(!ByName.wants_row(&row), "passed a row the prefilter wanted: {row:?}");
        self.1.latest = self.1.latest.max(at.utc);
        self.0.accept(&row, loc);
    }
    fn pass_run(&mut self, count: u64, first: osecwatch_model::Timestamp, last: osecwatch_model::Timestamp) -> bool {
        assert!(count > 0 && first.utc <= last.utc, "a run of {count} from {first:?} to {last:?}");
        if !self.1.take_runs || first.utc < self.1.latest {
            return false;
        }
        self.1.taken.push(count);
        self.1.latest = last.utc;
        true
    }
}

/// [`chunked`], with [`ByName`] as the prefilter.
fn filtered(data: &[u8], block: usize, workers: usize) -> Result<(IngestStats, Seen), String> {
    let mut c = Sorted::default();
    let s = read_csv_filtered(Path::new("f.csv"), data, CsvOptions { block, workers }, Some(&ByName), &mut c)
        .map_err(|e| e.to_string())?;
    Ok((s, unclipped(c.0 .0)))
}

/// [`filtered`] by a visitor that takes runs whole: the counts, and what it saw.
fn with_runs(data: &[u8], block: usize, workers: usize) -> (IngestStats, Sorted) {
    let mut c = Sorted(Collect::default(), SortedRuns { take_runs: true, ..SortedRuns::default() });
    let s = read_csv_filtered(Path::new("f.csv"), data, CsvOptions { block, workers }, Some(&ByName), &mut c)
        .expect("the reference read this");
    (s, c)
}

/// [`filtered`] by a visitor that takes runs of passed rows whole: what it sees row by row
/// must be the reference without the rows the runs stand for, and the runs must count them.
fn check_runs(data: &[u8], want: &(IngestStats, Seen), block: usize, workers: usize) {
    let (got, c) = with_runs(data, block, workers);
    assert_eq!(want.0, got, "stats with runs, block {block}, workers {workers}");
    let passed = |r: &Result<Transaction, (String, String)>| r.as_ref().is_ok_and(|t| !ByName.wants_row(&t.as_row()));
    let kept = |seen: &Seen| -> Seen { seen.iter().filter(|(_, r)| !passed(r)).cloned().collect() };
    let seen = unclipped(c.0 .0);
    assert_eq!(kept(&want.1), kept(&seen), "rows and rejections with runs, block {block}, workers {workers}");
    let (all, one_by_one) =
        (want.1.iter().filter(|s| passed(&s.1)).count(), seen.iter().filter(|s| passed(&s.1)).count());
    assert_eq!(all as u64, one_by_one as u64 + c.1.taken.iter().sum::<u64>(), "passed rows, block {block}");
}

fn check_same(data: &[u8]) {
    let want = reference(data);
    for (block, workers, filter) in
        [(64, 0, false), (97, 2, true), (1 << 18, 0, false), (1 << 18, 0, true), (300, 3, false)]
    {
        let got = if filter { filtered(data, block, workers) } else { chunked(data, block, workers) };
        match (&want, &got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(w.0, g.0, "stats, block {block}, workers {workers}: {:?}", String::from_utf8_lossy(data));
                assert_eq!(w.1, g.1, "rows, block {block}, workers {workers}: {:?}", String::from_utf8_lossy(data));
                assert_eq!(g.0.read, g.0.accepted + g.0.rejected);
                if filter {
                    check_runs(data, w, block, workers);
                }
            }
            (Err(_), Err(_)) => {}
            _ => panic!("one failed, one did not: {want:?} vs {got:?}"),
        }
    }
}

const GOOD: &str = "T1,2025-03-01T22:14:05+01:00,S1,Anna Weber,DE,R1,Maria Santos,PH,45.00,EUR,mto,for school,";
/// Accented text right next to the delimiters, where a wrong cut would split a character.
const ACCENTS: &str = "T5,2025-03-01T22:14:06+01:00,S\u{e9},\u{c9}l\u{e9}onore \u{d6}z,FR,R\u{f1},\u{d1},PH,45.5,EUR,wallet,caf\u{e9},5812";

#[test]
fn plain_crlf_empty_lines_and_no_final_newline() {
    let lf = format!("{HEADER}\n{GOOD}\n\n{GOOD}\n{GOOD}");
    check_same(lf.as_bytes());
    let (_, seen) = chunked(lf.as_bytes(), 64, 0).unwrap();
    let lines: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(lines, ["line 2", "line 4", "line 5"]);
    let crlf = lf.replace('\n', "\r\n");
    check_same(crlf.as_bytes());
    let (_, seen) = chunked(crlf.as_bytes(), 64, 2).unwrap();
    let lines: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(lines, ["line 2", "line 4", "line 5"], "CRLF lines are counted like LF lines");
    assert!(seen.iter().all(|s| s.1.is_ok()));
}

#[test]
fn records_with_more_fields_than_the_splitter_keeps_inline() {
    // 17 fields is the most the splitter keeps in its fixed array; 18 and 40 are found again.
    let mut text = format!("{HEADER}\n{GOOD}\n");
    for extra in [4, 5, 27] {
        text.push_str(&format!("{GOOD}{}\n", ",x".repeat(extra)));
    }
    text.push_str(&format!("{GOOD}\r\n"));
    check_same(text.as_bytes());
    let (s, seen) = chunked(text.as_bytes(), 1 << 18, 0).unwrap();
    assert_eq!((s.accepted, s.rejected), (2, 3));
    let reasons: Vec<&str> = seen.iter().filter_map(|s| s.1.as_ref().err()).map(|e| e.0.as_str()).collect();
    assert_eq!(
        reasons,
        ["row has 17 fields, header has 13", "row has 18 fields, header has 13", "row has 40 fields, header has 13"]
    );
}

#[test]
fn columns_in_another_order_some_absent_one_unknown() {
    // Not the canonical header, so every record takes the general path.
    let header =
        "amount,currency,txn_id,note,timestamp,sender_id,sender_country,recipient_id,recipient_country,channel";
    let mut text = format!("{header}\n");
    for i in 0..300 {
        let amount = if i % 37 == 0 { "-1.00".to_string() } else { format!("{}.{:02}", 1 + i % 250, i % 100) };
        text.push_str(&format!(
            "{amount},EUR,T{i},caf\u{e9} {i},2025-03-01T22:{:02}:05+01:00,S{},DE,R{},PH,mto\n",
            i % 60,
            i % 7,
            i % 11
        ));
    }
    check_same(text.as_bytes());
    let (s, seen) = chunked(text.as_bytes(), 1 << 18, 0).unwrap();
    assert_eq!((s.accepted, s.rejected), (291, 9));
    let first = seen[1].1.as_ref().unwrap();
    assert_eq!((first.txn_id.as_str(), first.amount.minor, first.sender_name.as_deref()), ("T1", 201, None));
}

#[test]
fn quoted_fields_with_commas_quotes_and_newlines() {
    let text = format!(
        "{HEADER}\n{GOOD}\nT2,2025-03-01T22:14:05+01:00,S1,\"Weber, Anna\",DE,R1,\"Maria \"\"M\"\" Santos\",PH,45.00,EUR,mto,\"two\nlines\",\n{GOOD}\n"
    );
    check_same(text.as_bytes());
    let (_, seen) = chunked(text.as_bytes(), 64, 0).unwrap();
    let row = seen[1].1.as_ref().unwrap();
    assert_eq!(row.sender_name.as_deref(), Some("Weber, Anna"));
    assert_eq!(row.recipient_name.as_deref(), Some("Maria \"M\" Santos"));
    assert_eq!(row.reference.as_deref(), Some("two\nlines"));
    assert_eq!(seen[2].0, "line 5", "the record after a two-line record");
}

#[test]
fn bare_carriage_returns_end_records_as_in_csv() {
    let text = format!("{HEADER}\n{GOOD}\rT9,x\n{GOOD}\n");
    check_same(text.as_bytes());
}

#[test]
fn a_row_with_bytes_that_are_not_utf8_is_refused_alone() {
    let mut data = format!("{HEADER}\n{GOOD}\n").into_bytes();
    data.extend_from_slice(b"T2,2025-03-01T22:14:05+01:00,S1,Anna \xff,DE,R1,,PH,45.00,EUR,mto,,\n");
    data.extend_from_slice(format!("{GOOD}\n").as_bytes());
    check_same(&data);
    let (s, seen) = chunked(&data, 1 << 18, 0).unwrap();
    assert_eq!((s.accepted, s.rejected), (2, 1));
    assert_eq!(seen[1].0, "line 3");
    assert_eq!(seen[1].1.as_ref().unwrap_err().0, "field `sender_name` is not valid UTF-8");
}

#[test]
fn a_record_longer_than_a_block_is_read_whole() {
    // Longer than the 64-byte blocks below, within the 256-byte limit on names.
    let long = "x".repeat(120);
    let text = format!("{HEADER}\n{GOOD}\nT2,2025-03-01T22:14:05+01:00,S1,{long},DE,R1,,PH,45.00,EUR,mto,,\n{GOOD}\n");
    check_same(text.as_bytes());
    let (s, _) = chunked(text.as_bytes(), 64, 2).unwrap();
    assert_eq!(s.accepted, 3);
    // And inside quotes, across what would have been block ends.
    let text =
        format!("{HEADER}\nT2,2025-03-01T22:14:05+01:00,S1,\"{long}\n{long}\",DE,R1,,PH,45.00,EUR,mto,,\n{GOOD}\n");
    check_same(text.as_bytes());
}

#[test]
fn an_unterminated_quote_swallows_the_rest_as_csv_does() {
    let text = format!("{HEADER}\n{GOOD}\nT2,2025-03-01T22:14:05+01:00,\"S1,,DE\n{GOOD}\n{GOOD}\n");
    check_same(text.as_bytes());
}

/// Fails after handing over `ok` bytes.
struct Broken<'a> {
    data: &'a [u8],
    ok: usize,
}

impl Read for Broken<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ok == 0 {
            return Err(std::io::Error::other("disk went away"));
        }
        let n = buf.len().min(self.ok).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_is_an_error_after_the_rows_before_it() {
    let text = format!("{HEADER}\n{}", format!("{GOOD}\n").repeat(200));
    for workers in [0, 2] {
        let mut c = Collect::default();
        let r = Broken { data: text.as_bytes(), ok: text.len() / 2 };
        let e = read_csv_with(Path::new("f.csv"), r, CsvOptions { block: 256, workers }, &mut c).unwrap_err();
        assert!(e.to_string().contains("disk went away"), "{e}");
        assert!(!c.0.is_empty() && c.0.len() < 200, "rows read before the error: {}", c.0.len());
        assert!(c.0.iter().all(|s| s.1.is_ok()));
    }
}

#[test]
fn header_only_and_empty_files() {
    check_same(format!("{HEADER}\n").as_bytes());
    check_same(HEADER.as_bytes());
    let e = chunked(b"", 64, 0).unwrap_err();
    assert!(e.contains("missing required column"), "{e}");
}

#[test]
fn many_rows_in_parallel_match_one_thread() {
    let mut text = format!("{HEADER}\n");
    for i in 0..20_000 {
        match i % 89 {
            0 => text.push_str(&format!("R{i},not-a-time,S,,DE,R,,PH,5.00,EUR,mto,,\n")),
            1 => text.push_str(&format!("R{i},2025-03-01T22:14:05+01:00,S,,DE\n")),
            2 => text.push('\n'),
            _ => text.push_str(&format!(
                "R{i},2025-03-01T22:{:02}:05+01:00,S{},\"Name, {i}\",DE,R,,PH,{}.00,EUR,mto,,\n",
                i % 60,
                i % 13,
                1 + i % 400
            )),
        }
    }
    check_same(text.as_bytes());
    let plain = text.replace("\"Name, ", "\"Name ").replace('"', "");
    check_same(plain.as_bytes());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Rows built from pieces that stress the tokeniser: quotes, commas, CR, LF, empty lines,
    /// bytes that are not UTF-8, and valid and invalid values.
    #[test]
    fn same_as_the_csv_crate_on_awkward_input(pieces in proptest::collection::vec(0usize..15, 0..120)) {
        let parts: [&[u8]; 15] = [
            GOOD.as_bytes(), b"\n", b"\r\n", b"\r", b",", b"\"", b"\"\"", b"x", b"\xc3", b"\xa9",
            b"T3,2025-03-01T22:14:05+01:00,S2,,DE,R2,,PH,7.5,EUR,mto,,",
            b"T4,2025-13-01T22:14:05+01:00,S2,,DE,R2,,PH,7.5,EUR,mto,,", b" ", b"\n\n", ACCENTS.as_bytes(),
        ];
        let mut data = format!("{HEADER}\n").into_bytes();
        for p in pieces {
            data.extend_from_slice(parts[p]);
        }
        check_same(&data);
    }

    #[test]
    fn same_as_the_csv_crate_on_any_bytes(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut data = format!("{HEADER}\n").into_bytes();
        data.extend(body);
        check_same(&data);
    }
}

/// Rows the prefilter does not want come as runs where their times never go back. A late row
/// comes on its own either way: kept out of runs when a row before it in its block is later,
/// or, when it starts a block, in a run the visitor declines (which one depends on where the
/// 300-byte blocks fall).
#[test]
fn passed_rows_come_as_runs_and_late_ones_one_by_one() {
    // "Anna Weber" and an 11-character reference: a row ByName does not want.
    let row = |i: usize, minute: usize, wanted: bool| {
        let reference = if wanted { "for school" } else { "for schools" };
        format!(
            "T{i},2025-03-01T10:{minute:02}:00+01:00,S1,Anna Weber,DE,R1,Maria Santos,PH,45.00,EUR,mto,{reference},"
        )
    };
    let mut lines = vec![HEADER.to_string()];
    lines.extend((0..40).map(|i| row(i, i, i == 20)));
    lines.push(row(40, 5, false)); // late: earlier than the rows before it
    lines.extend((41..50).map(|i| row(i, i, false)));
    let data = lines.join("\n");
    let want = reference(data.as_bytes()).unwrap();
    assert_eq!(want.0.accepted, 50);
    for (block, workers) in [(1 << 18, 0), (300, 0), (300, 2)] {
        check_runs(data.as_bytes(), &want, block, workers);
        let (_, c) = with_runs(data.as_bytes(), block, workers);
        let one_by_one: Vec<&str> = c.0 .0.iter().map(|s| s.0.as_str()).collect();
        assert!(one_by_one.contains(&"line 22"), "the wanted row, block {block}: {one_by_one:?}");
        assert!(one_by_one.contains(&"line 42"), "the late row, block {block}: {one_by_one:?}");
        assert!(c.1.taken.len() >= 2, "runs before and after the wanted row, block {block}: {:?}", c.1.taken);
        if block == 1 << 18 {
            // One block: the rows between the wanted and the late one make one run.
            assert_eq!(c.1.taken, [20, 19, 9], "block {block}");
        }
    }
}

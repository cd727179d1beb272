//! Cutting the input into blocks at record boundaries, on one thread: whether a newline
//! ends a record depends on the quotes before it.

use super::tokenize::{tokenize_core, Tokens};
use crate::row::map_columns;
use crate::IngestError;
use std::io::Read;
use std::path::Path;

/// A block cut at a record boundary: raw bytes (no quotes; split by the fast path), or
/// records already tokenised by `csv_core` while finding the cut.
pub(super) enum Chunk {
    Plain(Vec<u8>),
    Tokens(Tokens),
}

/// Reads blocks and cuts them at record boundaries (on one thread: the cut needs to know
/// whether it is inside a quoted field, which depends on everything before it).
pub(super) struct Chunker<R> {
    pub(super) path: std::path::PathBuf,
    pub(super) r: R,
    pub(super) block: usize,
    pub(super) carry: Vec<u8>,
    pub(super) eof: bool,
    pub(super) pool: Vec<Vec<u8>>,
    pub(super) core: csv_core::Reader,
    pub(super) headers: usize,
    pub(super) pos: [Option<usize>; 13],
    pub(super) first_line: u64,
}

impl<R: Read> Chunker<R> {
    pub(super) fn new(path: &Path, r: R, block: usize) -> Result<Self, IngestError> {
        let mut c = Chunker {
            path: path.to_path_buf(),
            r,
            block,
            carry: Vec::new(),
            eof: false,
            pool: Vec::new(),
            core: csv_core::Reader::new(),
            headers: 0,
            pos: [None; 13],
            first_line: 1,
        };
        c.read_header()?;
        Ok(c)
    }

    pub(super) fn format_error(&self, message: String) -> IngestError {
        IngestError::Format { path: self.path.clone(), message }
    }

    /// The header is the first record; read with the `csv` crate itself.
    pub(super) fn read_header(&mut self) -> Result<(), IngestError> {
        let mut want = self.block;
        loop {
            let mut buf = std::mem::take(&mut self.carry);
            self.fill(&mut buf, want)?;
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(buf.as_slice());
            let mut rec = csv::ByteRecord::new();
            rdr.read_byte_record(&mut rec).map_err(|e| self.format_error(format!("header: {e}")))?;
            let end = rdr.position().byte() as usize;
            // The header is complete once its terminator was read (or the input ended).
            let complete = self.eof || (end < buf.len() || buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r'));
            if !complete {
                self.carry = buf;
                want = want.saturating_mul(2);
                continue;
            }
            let names: Vec<String> = rec.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
            self.pos = map_columns(&self.path, names.iter().map(String::as_str))?;
            self.headers = rec.len();
            self.first_line = 1 + memchr::memchr_iter(b'\n', &buf[..end]).count() as u64;
            self.carry = buf.split_off(end.min(buf.len()));
            return Ok(());
        }
    }

    /// Append input to `buf` until it holds `want` bytes or the input ends.
    pub(super) fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), IngestError> {
        while buf.len() < want && !self.eof {
            let need = want - buf.len();
            buf.reserve(need);
            // `read_to_end` reads into spare capacity without zeroing it first.
            match (&mut self.r).take(need as u64).read_to_end(buf) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(IngestError::Io { path: self.path.clone(), source }),
            }
        }
        Ok(())
    }

    pub(super) fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.pool.len() < 4 {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// The next block, cut after its last complete record; `None` at the end.
    pub(super) fn next_chunk(&mut self) -> Result<Option<Chunk>, IngestError> {
        let mut want = self.block;
        loop {
            let mut buf = self.pool.pop().unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(&self.carry);
            self.carry.clear();
            self.fill(&mut buf, want)?;
            if buf.is_empty() {
                return Ok(None);
            }
            if memchr::memchr(b'"', &buf).is_none() {
                let cut = if self.eof { Some(buf.len()) } else { memchr::memrchr(b'\n', &buf).map(|i| i + 1) };
                if let Some(cut) = cut {
                    self.carry.extend_from_slice(&buf[cut..]);
                    buf.truncate(cut);
                    return Ok(Some(Chunk::Plain(buf)));
                }
            } else {
                let mut t = Tokens::default();
                let used = tokenize_core(&mut self.core, &buf, self.eof, &mut t);
                if used > 0 || self.eof {
                    self.carry.extend_from_slice(&buf[used..]);
                    self.recycle(buf);
                    return Ok(Some(Chunk::Tokens(t)));
                }
            }
            // One record is longer than the block: read on.
            self.carry = buf;
            want = self.carry.len().saturating_mul(2);
        }
    }
}

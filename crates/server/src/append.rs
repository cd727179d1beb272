//! The one way the service writes its append-only files (write-ahead log, audit log).

use crate::StoreError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

impl StoreError {
    /// Wrap an I/O error with the file it happened on.
    pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + Copy + '_ {
        move |source| StoreError::Io { path: path.to_path_buf(), source }
    }
}

/// An append-only file written in whole batches. A batch is written and synced, or, if either
/// fails (disk full, I/O error), the file is cut back to where it was: half a batch left in the
/// middle of the file would put the next batch behind a broken line and make the file
/// unreadable at the next start.
pub(crate) struct Appender {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Appender {
    /// `file` must be opened for appending; writing starts at its current end.
    pub(crate) fn new(file: File, path: &Path) -> Result<Appender, StoreError> {
        let len = file.metadata().map_err(StoreError::io(path))?.len();
        Ok(Appender { file, path: path.to_path_buf(), len })
    }

    /// Make everything written so far durable.
    pub(crate) fn sync(&mut self) -> Result<(), StoreError> {
        self.file.sync_data().map_err(StoreError::io(&self.path))
    }

    /// Bytes in the file (everything written so far).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn write_synced(&mut self, batch: &[u8]) -> Result<(), StoreError> {
        self.write(batch, true)
    }

    /// Write a batch; sync it too if `sync`. Unsynced, it survives a crash of the process
    /// (it is in the page cache) but not necessarily one of the machine.
    pub(crate) fn write(&mut self, batch: &[u8], sync: bool) -> Result<(), StoreError> {
        match self.file.write_all(batch).and_then(|()| if sync { self.file.sync_data() } else { Ok(()) }) {
            Ok(()) => {
                self.len += batch.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: if even the cut fails, the torn tail is dropped at the next open.
                let _ = self.file.set_len(self.len).and_then(|()| self.file.sync_data());
                Err(StoreError::io(&self.path)(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;

    #[test]
    fn batches_append_and_a_full_disk_is_an_error_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        std::fs::write(&p, b"one\n").unwrap();
        let mut a = Appender::new(OpenOptions::new().append(true).open(&p).unwrap(), &p).unwrap();
        a.write_synced(b"two\n").unwrap();
        a.write_synced(b"three\n").unwrap();
        assert_eq!((std::fs::read(&p).unwrap().as_slice(), a.len), (&b"one\ntwo\nthree\n"[..], 14));
        // /dev/full answers every write with "no space left on device".
        let full = Path::new("/dev/full");
        let mut a = Appender::new(OpenOptions::new().append(true).open(full).unwrap(), full).unwrap();
        let e = a.write_synced(b"four\n").unwrap_err().to_string();
        assert!(e.starts_with("/dev/full: ") && e.to_lowercase().contains("space"), "{e}");
        assert_eq!(a.len, 0);
    }
}

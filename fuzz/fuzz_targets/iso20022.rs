//! Fuzz target: the iso20022 reader must never panic and its counts must reconcile.
//! Run with `cargo +nightly fuzz run iso20022` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osecwatch_ingest::{Location, Rejection, Visitor};
use osecwatch_model::TxnRow;

struct Count(u64, u64);
impl Visitor for Count {
    fn accept(&mut self, _: &TxnRow<'_>, _: &dyn Fn() -> Location) {
        self.0 += 1;
    }
    fn reject(&mut self, _: Rejection) {
        self.1 += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut v = Count(0, 0);
    if let Ok(s) = osecwatch_ingest::read_iso20022_from(std::path::Path::new("fuzz.xml"), data, Default::default(), &mut v) {
        assert_eq!(s.read, s.accepted + s.rejected);
        assert_eq!((s.accepted, s.rejected), (v.0, v.1));
    }
});

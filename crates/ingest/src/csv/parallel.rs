//! The threads: one cuts blocks, workers validate them, the calling thread delivers them
//! in file order.

use super::check::Worker;
use super::cut::{Chunk, Chunker};
use super::rows::{Delivery, Parsed};
use super::Ctx;
use crate::{IngestError, Visitor};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

/// One thread cuts blocks, `workers` threads validate them, the calling thread delivers
/// them in order. At most a fixed number of chunks is in flight, so memory stays bounded.
pub(super) fn read_parallel<R: Read + Send>(
    mut chunker: Chunker<R>,
    ctx: &Ctx,
    workers: usize,
    out: &mut Delivery,
    v: &mut dyn Visitor,
) -> Result<(), IngestError> {
    let in_flight_max = 2 * workers + 2;
    let (job_tx, job_rx) = sync_channel::<(u64, Chunk, Parsed)>(workers);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = sync_channel::<(u64, Parsed)>(in_flight_max);
    let (back_tx, back_rx) = channel::<Parsed>();
    std::thread::scope(|scope| {
        let cutter = scope.spawn(move || -> Result<(), IngestError> {
            let mut shells: Vec<Parsed> = Vec::new();
            let (mut in_flight, mut seq) = (0usize, 0u64);
            loop {
                // Take back what was delivered; wait for it when too much is out.
                loop {
                    let back = if in_flight >= in_flight_max { back_rx.recv().ok() } else { back_rx.try_recv().ok() };
                    let Some(mut p) = back else { break };
                    in_flight -= 1;
                    chunker.recycle(std::mem::take(&mut p.text).into_bytes());
                    shells.push(p);
                }
                if in_flight >= in_flight_max {
                    return Ok(()); // the deliverer stopped
                }
                let Some(chunk) = chunker.next_chunk()? else { return Ok(()) };
                let shell = shells.pop().unwrap_or_default();
                if job_tx.send((seq, chunk, shell)).is_err() {
                    return Ok(());
                }
                seq += 1;
                in_flight += 1;
            }
        });
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || {
                let mut w = Worker::default();
                loop {
                    // The lock is held only while waiting for the next job.
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, chunk, mut shell)) = job else { return };
                    w.parse(chunk, ctx, &mut shell);
                    if done_tx.send((seq, shell)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, Parsed> = BTreeMap::new();
        let mut next = 0u64;
        for (seq, p) in done_rx.iter() {
            pending.insert(seq, p);
            while let Some(mut p) = pending.remove(&next) {
                out.deliver(&mut p, ctx, v);
                next += 1;
                let _ = back_tx.send(p);
            }
        }
        drop(back_tx);
        cutter.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

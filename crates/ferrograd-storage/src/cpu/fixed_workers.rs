//! Work split so that part `i` of a job runs on the same rayon worker every
//! time the job runs: OpenMP's static schedule, which PyTorch's CPU kernels
//! use. A reduction over a large tensor repeated in a training loop then
//! gives each worker the part it read last time, whatever of it is still in
//! that core's caches; with work stealing the parts swap workers at random.
//! (10M f32 sum on the 2-vCPU test VM: one standalone test went from
//! 0.48–0.57 ms to 0.37 ms; later benchmark runs swing 0.44–0.59 ms with the
//! shared L3's other users, see docs/performance.md.)

use rayon::prelude::*;

/// `f(i)` for every `i` in `0..parts`, results in order of `i`. Called from
/// outside rayon's pool, worker `w` of `n` runs parts `w * parts / n` up to
/// `(w + 1) * parts / n` (a contiguous group, the same on every call);
/// called from inside a worker (nested parallelism) or with one thread, it
/// falls back to an ordinary parallel iterator.
///
/// ```
/// use ferrograd_storage::cpu::on_fixed_workers;
/// let squares = on_fixed_workers(5, |i| i * i);
/// assert_eq!(squares, vec![0, 1, 4, 9, 16]);
/// ```
pub fn on_fixed_workers<R: Send>(parts: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = rayon::current_num_threads();
    if threads <= 1 || parts <= 1 || rayon::current_thread_index().is_some() {
        return (0..parts).into_par_iter().map(&f).collect();
    }
    let per_worker = rayon::broadcast(|ctx| {
        let (w, n) = (ctx.index(), ctx.num_threads());
        (w * parts / n..(w + 1) * parts / n)
            .map(&f)
            .collect::<Vec<R>>()
    });
    per_worker.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_run_on_the_same_worker_every_call_and_come_back_in_order() {
        // Called from the test's own thread: outside the global pool.
        let n = rayon::current_num_threads();
        for _ in 0..20 {
            let got = on_fixed_workers(7, |i| (i, rayon::current_thread_index()));
            let want: Vec<(usize, Option<usize>)> = (0..7)
                .map(|i| {
                    let worker = (0..n).find(|w| (w * 7 / n..(w + 1) * 7 / n).contains(&i));
                    (i, if n > 1 { worker } else { got[i].1 })
                })
                .collect();
            assert_eq!(got, want);
        }
        // From inside a worker (nested): still every part, in order.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let nested = pool.install(|| on_fixed_workers(7, |i| 10 * i));
        assert_eq!(nested, (0..7).map(|i| 10 * i).collect::<Vec<_>>());
        assert!(on_fixed_workers(0, |i| i).is_empty());
    }
}

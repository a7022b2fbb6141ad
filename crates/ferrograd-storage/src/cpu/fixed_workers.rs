//! Work split so that part `i` of a job runs on the same thread every time
//! the job runs: OpenMP's static schedule, on a team like OpenMP's, which
//! PyTorch's CPU kernels use. The calling thread takes the first share and
//! helper threads the others; between jobs a helper spins briefly before it
//! sleeps, so a job that follows another starts on every core at once.
//!
//! Why not rayon's pool: rayon puts the caller to sleep and wakes workers
//! that went to sleep, and each wake-up crosses the hypervisor on the 2-vCPU
//! test VM — a job took 12–15 µs more than its work (10M f32 sum: 0.55 ms;
//! 1M: 41 µs against 27 µs with this team, PyTorch 28 µs). A reduction
//! repeated in a training loop also finds whatever of its share the same
//! core read last time still in that core's caches.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rayon::prelude::*;

/// How long a helper keeps spinning for the next job before it sleeps.
/// Shorter than a typical gap between a training loop's large reductions
/// would make it sleep between them; longer only burns the core for
/// nothing (it yields while it spins, so other threads there still run).
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(100);

/// `f(i)` for every `i` in `0..parts`, results in order of `i`. With `n`
/// threads (rayon's count), team member `m` runs parts `m * parts / n` up to
/// `(m + 1) * parts / n` — a contiguous group, the same on every call; member
/// 0 is the calling thread. Called from inside a rayon worker or a team
/// member (nested parallelism), while another thread's job holds the team,
/// or with one thread, it falls back to an ordinary parallel iterator. A
/// panic in `f` reaches the caller after every part has stopped.
///
/// ```
/// use ferrograd_storage::cpu::on_fixed_workers;
/// let squares = on_fixed_workers(5, |i| i * i);
/// assert_eq!(squares, vec![0, 1, 4, 9, 16]);
/// ```
pub fn on_fixed_workers<R: Send>(parts: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let fallback = || (0..parts).into_par_iter().map(&f).collect();
    if parts <= 1 || rayon::current_thread_index().is_some() || IN_TEAM.get() {
        return fallback();
    }
    let Some(team) = Team::global() else {
        return fallback();
    };
    let Some(_held) = team.hold() else {
        return fallback();
    };
    let n = team.helpers.len() + 1;
    // A `Mutex` makes a slot shareable for any `R: Send`; each is locked
    // once, by the one member that owns the part, so it is never contended.
    let results: Vec<Mutex<Option<R>>> = (0..parts).map(|_| Mutex::new(None)).collect();
    let member = |m: usize| {
        let share = m * parts / n..(m + 1) * parts / n;
        for (i, slot) in share.clone().zip(&results[share]) {
            let value = f(i);
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        }
    };
    team.run(&member);
    results
        .into_iter()
        .map(|slot| {
            let value = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            value.expect("every part ran")
        })
        .collect()
}

thread_local! {
    /// True on a team member while it runs its share (helpers always): a
    /// nested call must not wait for the team it is part of.
    static IN_TEAM: Cell<bool> = const { Cell::new(false) };
}

/// A job as the helpers see it: "run member `m`'s share".
type Job = *const (dyn Fn(usize) + Sync);

/// The calling thread plus `helpers.len()` spinning helper threads.
struct Team {
    /// Set while a caller's job owns the team.
    busy: AtomicBool,
    /// Counts jobs; a helper runs a job when this moves past the last it saw.
    posted: AtomicUsize,
    /// The current job, written only by the caller holding `busy`, before
    /// it bumps `posted`, and left alone until every helper has finished.
    job: UnsafeCell<Job>,
    helpers: Box<[Helper]>,
}

// SAFETY: `job` is the only field without its own synchronisation. It is
// written by the one thread holding `busy`, before the `SeqCst` increment of
// `posted` that publishes it; helpers read it only after seeing that
// increment, and the writer waits for every helper's `finished` to reach the
// job's number before it writes again. The job it points to is `Sync`.
unsafe impl Sync for Team {}
// SAFETY: as above; the raw pointer is never dereferenced outside a job.
unsafe impl Send for Team {}

/// One helper's side of the hand-over, on its own cache line so spinning
/// helpers don't share one.
#[repr(align(128))]
struct Helper {
    /// The number of the last job this helper finished.
    finished: AtomicUsize,
    /// Set just before the helper parks, cleared when it wakes.
    asleep: AtomicBool,
    /// A panic from this helper's share of the current job.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    thread: OnceLock<Thread>,
}

/// Releases the team when the caller is done with it.
struct Held<'a>(&'a Team);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

impl Team {
    /// The process's team, sized to rayon's thread count and started on
    /// first use; `None` with one thread or when a helper could not start.
    fn global() -> Option<&'static Team> {
        static TEAM: OnceLock<Option<&'static Team>> = OnceLock::new();
        *TEAM.get_or_init(|| {
            let helpers = rayon::current_num_threads()
                .checked_sub(1)
                .filter(|&h| h > 0)?;
            let team: &'static Team = Box::leak(Box::new(Team {
                busy: AtomicBool::new(false),
                posted: AtomicUsize::new(0),
                job: UnsafeCell::new(std::ptr::null::<fn(usize)>() as Job),
                helpers: (0..helpers)
                    .map(|_| Helper {
                        finished: AtomicUsize::new(0),
                        asleep: AtomicBool::new(false),
                        panic: Mutex::new(None),
                        thread: OnceLock::new(),
                    })
                    .collect(),
            }));
            for h in 0..helpers {
                let spawned = std::thread::Builder::new()
                    .name(format!("ferrograd-team-{}", h + 1))
                    .spawn(move || team.serve(h));
                // A helper that is not there would never finish a job:
                // without all of them the team is not used at all.
                team.helpers[h]
                    .thread
                    .set(spawned.ok()?.thread().clone())
                    .ok()?;
            }
            Some(team)
        })
    }

    /// The team, if no other caller has it now.
    fn hold(&self) -> Option<Held<'_>> {
        (!self.busy.swap(true, Ordering::Acquire)).then(|| Held(self))
    }

    /// Runs `member(0)` here and `member(h + 1)` on helper `h`, and returns
    /// when all have finished; the first panic among them is re-raised.
    /// The caller must hold the team.
    fn run(&self, member: &(dyn Fn(usize) + Sync)) {
        // SAFETY: only the lifetime is erased. The helpers call the job only
        // between the `posted` increment below and their `finished` store,
        // and `WaitForHelpers` does not return (or let a panic unwind past
        // this frame) until every helper has made that store.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(member) };
        // SAFETY: the caller holds the team and every helper finished the
        // previous job, so nobody reads `job` now.
        unsafe { *self.job.get() = job };
        let number = self.posted.fetch_add(1, Ordering::SeqCst) + 1;
        for helper in self.helpers.iter() {
            // Pairs with the helper's `asleep` store then `posted` load: one
            // of the two sides sees the other's write, so a helper never
            // sleeps through a job.
            if helper.asleep.load(Ordering::SeqCst) {
                if let Some(thread) = helper.thread.get() {
                    thread.unpark();
                }
            }
        }
        let wait = WaitForHelpers { team: self, number };
        IN_TEAM.set(true);
        let mine = catch_unwind(AssertUnwindSafe(|| member(0)));
        IN_TEAM.set(false);
        drop(wait);
        // Every slot is emptied, so no panic is left over for the next job.
        let theirs: Vec<_> = (self.helpers.iter())
            .filter_map(|helper| helper.panic.lock().ok().and_then(|mut p| p.take()))
            .collect();
        if let Some(payload) = mine.err().or(theirs.into_iter().next()) {
            resume_unwind(payload);
        }
    }

    /// Helper `h`'s loop: wait for a job, run member `h + 1`'s share, report.
    fn serve(&self, h: usize) {
        IN_TEAM.set(true);
        let helper = &self.helpers[h];
        let mut seen = 0;
        loop {
            seen = self.wait_for_job(helper, seen);
            // SAFETY: see `Team`'s `Sync`: the job was published by the
            // `posted` increment just observed and stays valid until this
            // helper stores `finished` below.
            let job = unsafe { &**self.job.get() };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(h + 1))) {
                if let Ok(mut slot) = helper.panic.lock() {
                    *slot = Some(payload);
                }
            }
            helper.finished.store(seen, Ordering::Release);
        }
    }

    /// Spins, then sleeps, until `posted` moves past `seen`; returns it.
    fn wait_for_job(&self, helper: &Helper, seen: usize) -> usize {
        let started = Instant::now();
        let mut spins = 0u32;
        loop {
            let now = self.posted.load(Ordering::Acquire);
            if now != seen {
                return now;
            }
            spins = spins.wrapping_add(1);
            if spins % 64 != 0 {
                std::hint::spin_loop();
                continue;
            }
            if started.elapsed() < SPIN_BEFORE_SLEEP {
                std::thread::yield_now();
                continue;
            }
            helper.asleep.store(true, Ordering::SeqCst);
            if self.posted.load(Ordering::SeqCst) == seen {
                std::thread::park();
            }
            helper.asleep.store(false, Ordering::Relaxed);
        }
    }
}

/// Blocks (in `drop`, so also while a panic unwinds) until every helper has
/// finished job `number`.
struct WaitForHelpers<'a> {
    team: &'a Team,
    number: usize,
}

impl Drop for WaitForHelpers<'_> {
    fn drop(&mut self) {
        for helper in self.team.helpers.iter() {
            let mut spins = 0u32;
            while helper.finished.load(Ordering::Acquire) != self.number {
                spins = spins.wrapping_add(1);
                if spins % 64 == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that check which thread ran what need the team to
    /// themselves: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    /// Which thread ran part `i`, as the test sees it.
    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    #[test]
    fn parts_run_on_the_same_thread_every_call_and_come_back_in_order() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        // Called from the test's own thread: outside rayon's pool.
        let n = rayon::current_num_threads();
        let first = on_fixed_workers(7, |i| (i, thread_name()));
        for _ in 0..50 {
            assert_eq!(on_fixed_workers(7, |i| (i, thread_name())), first);
        }
        let me = thread_name();
        for (i, (part, name)) in first.iter().enumerate() {
            assert_eq!(*part, i);
            // Member 0's share runs on the caller; the rest on helpers.
            let member = (0..n).find(|m| (m * 7 / n..(m + 1) * 7 / n).contains(&i));
            if n > 1 {
                assert_eq!(member == Some(0), *name == me, "part {i} ran on {name}");
            }
        }
        // From inside a rayon worker (nested): still every part, in order.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let nested = pool.install(|| on_fixed_workers(7, |i| 10 * i));
        assert_eq!(nested, (0..7).map(|i| 10 * i).collect::<Vec<_>>());
        assert!(on_fixed_workers(0, |i| i).is_empty());
    }

    #[test]
    fn a_job_inside_a_job_and_jobs_from_several_threads_all_complete() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let inner = |i: usize| {
            on_fixed_workers(3, move |j| 10 * i + j)
                .iter()
                .sum::<usize>()
        };
        let want: Vec<usize> = (0..4).map(|i| 30 * i + 3).collect();
        assert_eq!(on_fixed_workers(4, inner), want);
        std::thread::scope(|s| {
            let runs: Vec<_> = (0..4)
                .map(|t| {
                    s.spawn(move || {
                        (0..200)
                            .map(|k| on_fixed_workers(5, |i| i * t + k).iter().sum::<usize>())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for (t, run) in runs.into_iter().enumerate() {
                let want: Vec<usize> = (0..200).map(|k| 10 * t + 5 * k).collect();
                assert_eq!(run.join().unwrap(), want);
            }
        });
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_the_team_still_works() {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        for bad in [0, 6] {
            let caught = catch_unwind(|| {
                on_fixed_workers(7, |i| {
                    assert!(i != bad, "part {i} failed");
                    i
                })
            });
            let message = caught.unwrap_err();
            let text = message
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert_eq!(text, format!("part {bad} failed"));
        }
        assert_eq!(on_fixed_workers(3, |i| i + 1), vec![1, 2, 3]);
    }
}

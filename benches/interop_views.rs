//! The cost of crossing into `ndarray`: `numpy()` and `numpy_mut()` are O(1)
//! (a try-lock, a handle clone and a stride computation) whatever the size,
//! measured on a 100 MB tensor; `to_ndarray()` copies, measured on 1 MB for
//! scale; `from_ndarray()` takes the buffer without copying.
//!
//! The O(1) calls are timed twice: in wall time, and (on Linux) in the
//! calling thread's CPU time, which stays meaningful on a machine shared
//! with other work, where wall time also counts the time the thread waited
//! for a core.
//!
//! `cargo bench --bench interop_views -- --warm-up-time 1 --measurement-time 3`

use criterion::measurement::Measurement;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ferrograd::interop::ndarray::{ArrayD, IxDyn};
use ferrograd::prelude::*;

const BIG: usize = 25 * 1024 * 1024; // 100 MiB of f32
const SMALL: usize = 256 * 1024; // 1 MiB of f32

fn constant_time<M: Measurement>(c: &mut Criterion<M>, clock: &str) {
    let big = Tensor::zeros(&[BIG / 1024, 1024], DType::F32).unwrap();
    let flipped = big.flip(&[1]).unwrap().t().unwrap();
    let mut g = c.benchmark_group(format!("interop {clock}"));
    g.bench_function("numpy_100MB", |b| {
        b.iter(|| black_box(&big).numpy::<f32>().unwrap())
    });
    g.bench_function("numpy_100MB_then_read_one_element", |b| {
        b.iter(|| black_box(&big).numpy::<f32>().unwrap().view()[[1, 2]])
    });
    g.bench_function("numpy_100MB_transposed_flipped", |b| {
        b.iter(|| black_box(&flipped).numpy::<f32>().unwrap())
    });
    g.bench_function("numpy_mut_100MB", |b| {
        b.iter(|| black_box(&big).numpy_mut::<f32>().unwrap())
    });
    g.finish();
}

fn wall_time(c: &mut Criterion) {
    constant_time(c, "wall time");
    let small = Tensor::zeros(&[SMALL / 1024, 1024], DType::F32).unwrap();
    let mut g = c.benchmark_group("interop copies");
    g.bench_function("to_ndarray_1MB", |b| {
        b.iter(|| black_box(&small).to_ndarray::<f32>().unwrap())
    });
    g.bench_function("from_ndarray_1MB", |b| {
        b.iter_batched(
            || ArrayD::<f32>::zeros(IxDyn(&[SMALL / 1024, 1024])),
            |a| Tensor::from_ndarray(a).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

#[cfg(target_os = "linux")]
mod cpu_clock {
    //! The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) as a
    //! criterion measurement.

    use criterion::measurement::{Measurement, ValueFormatter, WallTime};

    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }

    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;

    fn now_ns() -> u64 {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer of the layout the C ABI expects.
        let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// Thread CPU time in nanoseconds.
    pub struct ThreadCpuTime;

    static WALL: WallTime = WallTime;

    impl Measurement for ThreadCpuTime {
        type Intermediate = u64;
        type Value = u64;
        fn start(&self) -> u64 {
            now_ns()
        }
        fn end(&self, start: u64) -> u64 {
            now_ns() - start
        }
        fn add(&self, a: &u64, b: &u64) -> u64 {
            a + b
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, v: &u64) -> f64 {
            *v as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            WALL.formatter()
        }
    }
}

#[cfg(target_os = "linux")]
fn thread_cpu_time(c: &mut Criterion<cpu_clock::ThreadCpuTime>) {
    constant_time(c, "thread CPU time");
}

criterion_group!(wall, wall_time);

#[cfg(target_os = "linux")]
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(cpu_clock::ThreadCpuTime);
    targets = thread_cpu_time
}

#[cfg(target_os = "linux")]
criterion_main!(wall, cpu);
#[cfg(not(target_os = "linux"))]
criterion_main!(wall);

//! The generated kernels, run on the CPU: each source is compiled by the
//! host C++ compiler against a stand-in for the CUDA built-ins and launched
//! as a grid of one block: of one thread (which runs every grid-stride loop
//! over all elements), or of several host threads with `__syncthreads` a
//! barrier and `__shared__` memory shared, which runs the block reductions'
//! shared-memory trees as a GPU block does. The results are compared with
//! naive loops in Rust. This checks what each kernel computes — indexing
//! through strides, broadcasting, padding, NaN and tie rules, the trees —
//! without a GPU; it cannot check grids of several blocks, warp timing or
//! NVRTC itself. Skipped, with a message, without a compiler.

use crate::extreme::extreme_source;
use crate::im2col::{col2im_source, im2col_source, Windows2d};
use crate::inplace::inplace_source;
use crate::kernels::{map_source, reduction, strided, sum_source, UnaryOp};
use crate::one_hot::one_hot_source;
use crate::take::{put_sum_source, take_source};
use ferrograd_storage::{DType, Layout};
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The CUDA built-ins for one block of `THREADS` host threads; kernels are
/// called inside `launch([&] { ... });`.
const PRELUDE: &str = "#include <math.h>
#include <stdio.h>
#include <barrier>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __shared__ static
struct Dim3 { unsigned x, y, z; };
static Dim3 blockIdx = {0, 0, 0}, blockDim = {THREADS, 1, 1}, gridDim = {1, 1, 1};
static thread_local Dim3 threadIdx = {0, 0, 0};
static std::barrier<>* block_barrier;
static void __syncthreads() { block_barrier->arrive_and_wait(); }
template <class F> static void launch(F f) {
  std::barrier<> b(THREADS);
  block_barrier = &b;
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < THREADS; ++t) ts.emplace_back([=] { threadIdx.x = t; f(); });
  for (auto& t : ts) t.join();
}
static float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static double rsqrt(double x) { return 1.0 / sqrt(x); }
";

/// Compiles `source` with a `main` of `body` and returns what it prints,
/// one number per line; `None` without a host compiler. Kernels run as one
/// block of one thread.
fn run(source: &str, body: &str) -> Option<Vec<f64>> {
    run_block(1, source, body)
}

/// [`run`] with blocks of `threads` threads (a power of two, as `THREADS` is).
fn run_block(threads: u32, source: &str, body: &str) -> Option<Vec<f64>> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let id = format!(
        "ferrograd-kernel-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir();
    let (cpp, exe) = (dir.join(format!("{id}.cpp")), dir.join(&id));
    let program = format!(
        "#define THREADS {threads}\n{PRELUDE}{source}int main() {{\n{body}\nreturn 0;\n}}\n"
    );
    std::fs::write(&cpp, program).unwrap();
    let compiled = Command::new("c++")
        .args(["-std=c++20", "-pthread", "-O0", "-w", "-o"])
        .arg(&exe)
        .arg(&cpp)
        .output();
    let Ok(compiled) = compiled else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no host C++ compiler (c++) to run kernels"
        );
        return None;
    };
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let out = Command::new(&exe).output().unwrap();
    let _ = (std::fs::remove_file(&cpp), std::fs::remove_file(&exe));
    assert!(out.status.success());
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse::<f64>().unwrap())
            .collect(),
    )
}

/// `T name[] = {...};` (at least one element, as C requires).
fn array(ty: &str, name: &str, v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    let items = if items.is_empty() {
        vec!["0".into()]
    } else {
        items
    };
    let items: Vec<String> = items.iter().map(|s| s.replace("NaN", "NAN")).collect();
    format!("{ty} {name}[] = {{{}}};\n", items.join(", "))
}

fn print(name: &str, n: usize) -> String {
    format!("for (int i = 0; i < {n}; ++i) printf(\"%.17g\\n\", (double){name}[i]);\n")
}

/// The elements of the view `l` of `data`, row-major.
fn gather(data: &[f64], l: &Layout) -> Vec<f64> {
    let mut out = Vec::new();
    l.for_each_offset(|o| out.push(data[o]));
    out
}

fn close(a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        let same = (x.is_nan() && y.is_nan()) || (x - y).abs() <= tol * (1.0 + y.abs());
        assert!(same, "{a:?} vs {b:?}");
    }
}

#[test]
fn the_map_kernel_reads_strided_and_broadcast_operands() {
    let data: Vec<f64> = (0..12).map(|v| v as f64 * 0.5 - 2.0).collect();
    // a: a [3, 4] buffer, transposed and flipped; b: a row broadcast down.
    let la = Layout::contiguous(&[3, 4]).transpose(0, 1).flip(&[1]);
    let lb = Layout::contiguous(&[1, 3]).broadcast_to(&[4, 3]).unwrap();
    let b = [10.0, 20.0, 30.0];
    let m = strided(&la, &lb).unwrap();
    let src = map_source("k", DType::F32, DType::F64, DType::F64, "x * y - (TB)1");
    let body = format!(
        "{}{}double out[12];\nlaunch([&] {{ k(a, b, out, {}, 12, 0.0, 0); }});\n{}",
        array("float", "a", &data),
        array("double", "b", &b),
        m.c_init(),
        print("out", 12)
    );
    // Four threads share the grid-stride loop.
    let Some(got) = run_block(4, &src, &body) else {
        return;
    };
    let (x, y) = (gather(&data, &la), gather(&b, &lb));
    let want: Vec<f64> = x.iter().zip(&y).map(|(x, y)| x * y - 1.0).collect();
    close(&got, &want, 0.0);
}

fn erf(x: f64) -> f64 {
    // Maclaurin series, enough terms for |x| <= 2 to 1e-13.
    let (mut term, mut sum) = (x, x);
    for n in 1..60 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// A unary function of `x` with its parameter `p`, in Rust.
type Reference = fn(f64, f64) -> f64;

#[test]
fn unary_kernels_compute_their_functions() {
    let xs = [-1.5, -0.2, 0.0, 0.7, 2.0];
    let cases: [(UnaryOp, f64, Reference); 17] = [
        (UnaryOp::Neg, 0.0, |x, _| -x),
        (UnaryOp::Exp, 0.0, |x, _| x.exp()),
        (UnaryOp::Relu, 0.0, |x, _| x.max(0.0)),
        (UnaryOp::Tanh, 0.0, |x, _| x.tanh()),
        (UnaryOp::Sigmoid, 0.0, |x, _| 1.0 / (1.0 + (-x).exp())),
        (UnaryOp::Abs, 0.0, |x, _| x.abs()),
        (UnaryOp::Sin, 0.0, |x, _| x.sin()),
        (UnaryOp::Cos, 0.0, |x, _| x.cos()),
        (UnaryOp::Erf, 0.0, |x, _| erf(x)),
        (
            UnaryOp::Sign,
            0.0,
            |x, _| if x == 0.0 { 0.0 } else { x.signum() },
        ),
        (UnaryOp::Step, 0.0, |x, _| if x > 0.0 { 1.0 } else { 0.0 }),
        (UnaryOp::Silu, 0.0, |x, _| x / (1.0 + (-x).exp())),
        (UnaryOp::Gelu, 0.0, |x, _| {
            0.5 * x * (1.0 + erf(x / 2f64.sqrt()))
        }),
        (UnaryOp::GeluTanh, 0.0, |x, _| {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
        }),
        (
            UnaryOp::LeakyRelu,
            0.1,
            |x, p| if x > 0.0 { x } else { p * x },
        ),
        (
            UnaryOp::LeakyReluGrad,
            0.1,
            |x, p| if x > 0.0 { 1.0 } else { p },
        ),
        (UnaryOp::Pow, 3.0, |x, p| x.powf(p)),
    ];
    let l = Layout::contiguous(&[xs.len()]);
    let m = strided(&l, &l).unwrap();
    let mut src = String::new();
    let mut body = array("double", "a", &xs);
    body.push_str("double out[5];\n");
    for (i, (op, p, _)) in cases.iter().enumerate() {
        let e = op.expr(DType::F64).unwrap();
        src.push_str(&format!(
            "namespace u{i} {{\n{}}}\n",
            map_source(&format!("k{i}"), DType::F64, DType::F64, DType::F64, &e)
        ));
        body.push_str(&format!(
            "launch([&] {{ u{i}::k{i}(a, a, out, {}, 5, {p:?}, 0); }});\n{}",
            m.c_init(),
            print("out", 5)
        ));
    }
    let Some(got) = run(&src, &body) else { return };
    for (i, (op, p, f)) in cases.iter().enumerate() {
        let want: Vec<f64> = xs.iter().map(|&x| f(x, *p)).collect();
        let slice = &got[i * 5..(i + 1) * 5];
        assert!(
            slice
                .iter()
                .zip(&want)
                .all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + b.abs())),
            "{op:?}: {slice:?} vs {want:?}"
        );
    }
    // Integer forms keep the dtype: relu and abs of int32.
    let l = Layout::contiguous(&[4]);
    let m = strided(&l, &l).unwrap();
    let mut src = String::new();
    for (i, op) in [UnaryOp::Relu, UnaryOp::Abs, UnaryOp::Sign]
        .iter()
        .enumerate()
    {
        let e = op.expr(DType::I32).unwrap();
        src.push_str(&format!(
            "namespace i{i} {{\n{}}}\n",
            map_source(&format!("k{i}"), DType::I32, DType::I32, DType::I32, &e)
        ));
    }
    let mut body = array("int", "a", &[-3.0, 0.0, 5.0, -1.0]);
    body.push_str("int out[4];\n");
    for i in 0..3 {
        body.push_str(&format!(
            "launch([&] {{ i{i}::k{i}(a, a, out, {}, 4, 0.0, 0); }});\n{}",
            m.c_init(),
            print("out", 4)
        ));
    }
    let Some(got) = run(&src, &body) else { return };
    assert_eq!(
        got,
        [0.0, 0.0, 5.0, 0.0, 3.0, 0.0, 5.0, 1.0, -1.0, 0.0, 1.0, -1.0]
    );
}

/// A `[2, 3, 4]` buffer seen permuted and flipped, reduced over dims 0 and 2.
fn reduction_case() -> (Vec<f64>, Layout, Vec<usize>) {
    let mut data: Vec<f64> = (0..24).map(|v| ((v * 7) % 11) as f64 - 3.0).collect();
    data[5] = 4.0; // a tie with another 4.0 in the same output
    let l = Layout::contiguous(&[2, 3, 4])
        .permute(&[2, 0, 1])
        .unwrap()
        .flip(&[1]);
    (data, l, vec![0, 2])
}

/// Naive reductions of the view over `dims`: per output, its values in order.
fn reduced_groups(data: &[f64], l: &Layout, dims: &[usize]) -> Vec<Vec<f64>> {
    let v = gather(data, l);
    let shape = l.shape();
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !dims.contains(d)).collect();
    let nout: usize = kept.iter().map(|&d| shape[d]).product();
    let mut groups = vec![Vec::new(); nout];
    for (flat, &x) in v.iter().enumerate() {
        let mut rem = flat;
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        let o = kept.iter().fold(0, |acc, &d| acc * shape[d] + idx[d]);
        groups[o].push(x);
    }
    groups
}

#[test]
fn sum_and_extreme_kernels_reduce_strided_views_with_pytorchs_rules() {
    // One thread, a tree over 8 threads (fewer than the 12 reduced elements
    // of each output), and 16 (threads left without an element).
    for threads in [1, 8, 16] {
        if !reduce_on_blocks_of(threads) {
            return;
        }
    }
}

/// False when there is no host compiler.
fn reduce_on_blocks_of(threads: u32) -> bool {
    let (mut data, l, dims) = reduction_case();
    let (m, nout) = reduction(&l, &dims).unwrap();
    let groups = reduced_groups(&data, &l, &dims);
    let src = sum_source("k", DType::F64, DType::F64);
    let body = format!(
        "{}double out[{nout}];\nlaunch([&] {{ k(a, out, {}, {nout}); }});\n{}",
        array("double", "a", &data),
        m.c_init(),
        print("out", nout)
    );
    let Some(got) = run_block(threads, &src, &body) else {
        return false;
    };
    let want: Vec<f64> = groups.iter().map(|g| g.iter().sum()).collect();
    close(&got, &want, 1e-12);

    data[17] = f64::NAN;
    let groups = reduced_groups(&data, &l, &dims);
    for max in [true, false] {
        let src = extreme_source("k", DType::F64, max);
        let body = format!(
            "{}double out[{nout}]; long long idx[{nout}];\nlaunch([&] {{ k(a, out, idx, {}, {nout}); }});\n{}{}",
            array("double", "a", &data),
            m.c_init(),
            print("out", nout),
            print("idx", nout)
        );
        let got = run_block(threads, &src, &body).unwrap();
        for (o, g) in groups.iter().enumerate() {
            let (i, v) = first_extreme(g, max);
            let what = format!("threads={threads} max={max} o={o}: {got:?}");
            assert!(got[o] == v || (v.is_nan() && got[o].is_nan()), "{what}");
            assert_eq!(got[nout + o], i as f64, "{what}");
        }
    }
    true
}

/// The extreme of `g` and its first index; NaN wins.
fn first_extreme(g: &[f64], max: bool) -> (usize, f64) {
    let mut best = (0, g[0]);
    for (i, &v) in g.iter().enumerate().skip(1) {
        let beats = !best.1.is_nan() && (v.is_nan() || (max && v > best.1) || (!max && v < best.1));
        if beats {
            best = (i, v);
        }
    }
    best
}

#[test]
fn one_hot_and_in_place_kernels_write_the_right_elements() {
    // One-hot of [outer 2, inner 3] indices over 4 classes; -100 ignored.
    let idx = [0.0, 3.0, -100.0, 2.0, 2.0, 1.0];
    let src = one_hot_source("k", DType::F32);
    let body = format!(
        "{}float out[24];\nlaunch([&] {{ k(idx, out, 4, 3, 24, -100); }});\n{}",
        array("long long", "idx", &idx),
        print("out", 24)
    );
    let Some(got) = run(&src, &body) else { return };
    for (i, &g) in got.iter().enumerate() {
        let (inner, j, o) = (i % 3, (i / 3) % 4, i / 12);
        assert_eq!(g, f64::from(idx[o * 3 + inner] == j as f64), "{i}");
    }
    // dst[:, 1:3] (a strided view of a [3, 4] buffer) -= a broadcast column.
    let data: Vec<f64> = (0..12).map(f64::from).collect();
    let ld = Layout::contiguous(&[3, 4]).narrow(1, 1, 2).unwrap();
    let ls = Layout::contiguous(&[3, 1]).broadcast_to(&[3, 2]).unwrap();
    let m = strided(&ld, &ls).unwrap();
    let src = inplace_source("k", DType::F64, DType::F64, "x - y");
    let body = format!(
        "{}{}launch([&] {{ k(d, s, {}, 6, 0.0, 0); }});\n{}",
        array("double", "d", &data),
        array("double", "s", &[1.0, 2.0, 3.0]),
        m.c_init(),
        print("d", 12)
    );
    let got = run(&src, &body).unwrap();
    let mut want = data.clone();
    for r in 0..3 {
        for c in 1..3 {
            want[r * 4 + c] -= (r + 1) as f64;
        }
    }
    assert_eq!(got, want);
}

#[test]
fn im2col_matches_naive_windows_and_col2im_is_its_adjoint() {
    let g = Windows2d {
        n: 2,
        c: 2,
        h: 5,
        w: 4,
        kh: 3,
        kw: 2,
        oh: 3,
        ow: 4,
        stride: [2, 1],
        padding: [1, 1],
        dilation: [1, 2],
    };
    let x: Vec<f64> = (0..g.input_len()).map(|v| (v as f64).sin()).collect();
    let c: Vec<f64> = (0..g.cols_len()).map(|v| (v as f64 * 0.37).cos()).collect();
    let n = g.cols_len();
    let init = format!(
        "Windows2d g = {{{}, {}, {}, {}, {}, {}, {}, {}, {{{}, {}}}, {{{}, {}}}, {{{}, {}}}}};\n",
        g.n,
        g.c,
        g.h,
        g.w,
        g.kh,
        g.kw,
        g.oh,
        g.ow,
        g.stride[0],
        g.stride[1],
        g.padding[0],
        g.padding[1],
        g.dilation[0],
        g.dilation[1]
    );
    let src = format!(
        "namespace a {{\n{}}}\nnamespace b {{\n{}}}\nusing a::Windows2d;\n",
        im2col_source("im", DType::F64),
        col2im_source("col", DType::F64).replace("struct Windows2d { long long n, c, h, w, kh, kw, oh, ow, stride[2], padding[2], dilation[2]; };\n", "using a::Windows2d;\n")
    );
    let body = format!(
        "{}{}{init}double cols[{n}]; double back[{}];\nlaunch([&] {{ a::im(x, cols, g, {n}, -7.0); }});\nlaunch([&] {{ b::col(c, back, g, {}, 0.0); }});\n{}{}",
        array("double", "x", &x),
        array("double", "c", &c),
        g.input_len(),
        g.input_len(),
        print("cols", n),
        print("back", g.input_len())
    );
    let Some(got) = run(&src, &body) else { return };
    let (cols, back) = got.split_at(n);
    // Naive windows.
    let (kh, kw, oh, ow) = (g.kh as usize, g.kw as usize, g.oh as usize, g.ow as usize);
    let (h, w) = (g.h as isize, g.w as isize);
    let mut want = Vec::new();
    let mut adj = vec![0.0; g.input_len()];
    for b in 0..g.n as usize {
        for ch in 0..g.c as usize {
            for i in 0..kh {
                for j in 0..kw {
                    for y in 0..oh {
                        for xx in 0..ow {
                            let iy = (y as isize) * 2 - 1 + i as isize;
                            let ix = (xx as isize) - 1 + 2 * j as isize;
                            let inside = (0..h).contains(&iy) && (0..w).contains(&ix);
                            let at =
                                ((b * 2 + ch) * 5 + iy.max(0) as usize) * 4 + ix.max(0) as usize;
                            want.push(if inside { x[at] } else { -7.0 });
                            if inside {
                                adj[at] += c[want.len() - 1];
                            }
                        }
                    }
                }
            }
        }
    }
    close(cols, &want, 0.0);
    close(back, &adj, 1e-12);
}

#[test]
fn take_picks_slices_and_put_sum_adds_repeats_back() {
    // A [2, 3, 2] source; picks [2, 0, 2, 1] along the middle dim.
    let src_data: Vec<f64> = (0..12).map(|v| v as f64 * 1.5).collect();
    let idx = [2.0, 0.0, 2.0, 1.0];
    let g: Vec<f64> = (0..16).map(|v| v as f64 - 4.0).collect();
    let source = format!(
        "namespace a {{\n{}}}\nnamespace b {{\n{}}}\n",
        take_source("take", DType::F32),
        put_sum_source("put", DType::F64)
    );
    let body = format!(
        "{}{}{}float out[16]; double back[12];\nlaunch([&] {{ a::take(s, idx, out, 3, 4, 2, 16); }});\nlaunch([&] {{ b::put(g, idx, back, 3, 4, 2, 12); }});\n{}{}",
        array("float", "s", &src_data),
        array("long long", "idx", &idx),
        array("double", "g", &g),
        print("out", 16),
        print("back", 12)
    );
    let Some(got) = run_block(4, &source, &body) else {
        return;
    };
    let (out, back) = got.split_at(16);
    let mut want = Vec::new();
    let mut adj = [0.0; 12];
    for o in 0..2 {
        for (j, &r) in idx.iter().enumerate() {
            for i in 0..2 {
                let at = (o * 3 + r as usize) * 2 + i;
                want.push(src_data[at]);
                adj[at] += g[(o * 4 + j) * 2 + i];
            }
        }
    }
    assert_eq!(out, &want[..]);
    assert_eq!(back, &adj[..]);
}

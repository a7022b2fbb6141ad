//! A CPU-side check of every generated kernel: the sources are compiled by
//! the host C++ compiler (`c++ -fsyntax-only`) against a stand-in for the
//! CUDA built-ins, so a typo in generated code fails here rather than only
//! on a GPU's first NVRTC run. Skipped, with a message, without a compiler.

use crate::extreme::{extreme_name, extreme_source};
use crate::im2col::{col2im_source, im2col_source};
use crate::inplace::{inplace_source, kernel_name, Update};
use crate::kernels::{fill_source, map_source, sum_source, BinaryOp, UnaryOp};
use crate::one_hot::one_hot_source;
use crate::take::{put_sum_source, take_source};
use ferrograd_storage::DType;
use std::io::Write;
use std::process::{Command, Stdio};

const PRELUDE: &str = "#include <math.h>
#define __global__
#define __device__
#define __shared__ static
struct Dim3 { unsigned x, y, z; };
static Dim3 blockIdx, blockDim, gridDim, threadIdx;
static void __syncthreads() {}
static float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static double rsqrt(double x) { return 1.0 / sqrt(x); }
";

const DTYPES: [DType; 6] = [
    DType::F32,
    DType::F64,
    DType::I64,
    DType::I32,
    DType::U8,
    DType::Bool,
];

const UNARY: [UnaryOp; 20] = [
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Relu,
    UnaryOp::Tanh,
    UnaryOp::Sigmoid,
    UnaryOp::Sqrt,
    UnaryOp::Abs,
    UnaryOp::Rsqrt,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Erf,
    UnaryOp::Sign,
    UnaryOp::Step,
    UnaryOp::Silu,
    UnaryOp::Gelu,
    UnaryOp::GeluTanh,
    UnaryOp::LeakyRelu,
    UnaryOp::LeakyReluGrad,
    UnaryOp::Pow,
];

const BINARY: [BinaryOp; 5] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Eq,
];

/// Every kernel source the backend can generate, as its launchers do.
fn all_sources() -> Vec<String> {
    let mut out = Vec::new();
    for &t in &DTYPES {
        for op in UNARY {
            if let Some(e) = op.expr(t) {
                out.push(map_source(
                    &format!("{}_{}", op.name(), t.name()),
                    t,
                    t,
                    t,
                    &e,
                ));
            }
        }
        for op in BINARY {
            if let Some(e) = op.expr(t) {
                out.push(map_source("binary", t, t, t, e));
                out.push(map_source("scalar", t, t, t, &e.replace('y', "(TA)sf")));
                let u = Update::Apply(op);
                if let Some(e) = u.expr(t) {
                    out.push(inplace_source(&kernel_name(u, t, t, false), t, t, e));
                }
            }
        }
        for &to in &DTYPES {
            let e = if to == DType::Bool { "x != 0" } else { "x" };
            out.push(map_source("cast", t, t, to, e));
            let e = Update::Assign.expr(to).unwrap();
            out.push(inplace_source("assign", to, t, e));
        }
        let to = if t.is_floating_point() { t } else { DType::I64 };
        out.push(sum_source("sum", t, to));
        out.push(fill_source("fill", t));
        out.push(one_hot_source("one_hot", t));
        out.push(take_source("take", t));
        if t != DType::Bool {
            out.push(put_sum_source("put_sum", t));
        }
        if t.is_floating_point() {
            out.push(im2col_source("im2col", t));
            out.push(col2im_source("col2im", t));
        }
        for max in [true, false] {
            out.push(extreme_source(&extreme_name(max, t), t, max));
        }
    }
    out
}

#[test]
fn every_generated_kernel_is_valid_cuda_c_syntax() {
    let sources = all_sources();
    assert!(sources.len() > 150, "{}", sources.len());
    let mut unit = String::from(PRELUDE);
    for (i, s) in sources.iter().enumerate() {
        unit.push_str(&format!("namespace k{i} {{\n{s}}}\n"));
    }
    let child = Command::new("c++")
        .args(["-fsyntax-only", "-w", "-x", "c++", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: no host C++ compiler (c++) to check kernel syntax"
        );
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(unit.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "generated kernels don't compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

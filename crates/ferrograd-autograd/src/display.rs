//! Printing tensors exactly as PyTorch does (`torch/_tensor_str.py` with the
//! default print options): one common width per tensor, floats with 4
//! decimals or as `1.` when all are whole or in scientific notation when
//! magnitudes are far apart, rows wrapped at 80 columns, `...` summaries past
//! 1000 elements, and the `dtype=`, `size=`, `grad_fn=` and `requires_grad=`
//! suffixes. A precision in the format string (`{:.2}`) replaces the 4.

use crate::{Scalar, Tensor};
use ferrograd_storage::{with_buffer, DType, DTypeCategory, Device, Element, Layout, Result};
use std::fmt;

/// Tensors with more elements than this are summarized.
const THRESHOLD: usize = 1000;
/// Items kept at each end of a summarized dimension.
const EDGE_ITEMS: usize = 3;
/// The column rows wrap at.
const LINE_WIDTH: usize = 80;
/// Decimals of floats unless the format string gives a precision.
const DEFAULT_PRECISION: usize = 4;
const PREFIX: &str = "tensor(";

/// Prints the tensor as `print(t)` does in PyTorch.
///
/// ```
/// use ferrograd_autograd::{tensor, DType};
/// assert_eq!(tensor![[1, 2, 3], [4, 5, 6]].to_string(), "tensor([[1, 2, 3],\n        [4, 5, 6]])");
/// assert_eq!(tensor![1.0, 2.5].to_string(), "tensor([1.0000, 2.5000])");
/// assert_eq!(tensor![1.0, 2.0].to_dtype(DType::F64)?.to_string(), "tensor([1., 2.], dtype=torch.float64)");
/// assert_eq!(format!("{:.2}", tensor![1.0, 2.5]), "tensor([1.00, 2.50])");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&repr(self, f.precision().unwrap_or(DEFAULT_PRECISION)))
    }
}

/// The same text as [`Display`](fmt::Display), PyTorch's `repr`.
impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The whole `tensor(...)` text.
fn repr(t: &Tensor, precision: usize) -> String {
    let mut suffixes = Vec::new();
    if t.device() != Device::Cpu {
        suffixes.push(format!("device='{}'", t.device()));
    }
    let dtype_suffix = format!("dtype=torch.{}", t.dtype().name());
    let body = if t.numel() == 0 {
        if t.dim() != 1 {
            suffixes.push(format!("size={}", python_tuple(t.shape())));
        }
        if t.dtype() != DType::F32 {
            suffixes.push(dtype_suffix);
        }
        "[]".to_string()
    } else {
        if !matches!(t.dtype(), DType::F32 | DType::I64 | DType::Bool) {
            suffixes.push(dtype_suffix);
        }
        body(t, precision).unwrap_or_else(|e| format!("[<cannot read the values: {e}>]"))
    };
    if let Some(node) = t.grad_fn() {
        suffixes.push(format!("grad_fn=<{}>", node.name()));
    } else if t.requires_grad() {
        suffixes.push("requires_grad=True".into());
    }
    add_suffixes(format!("{PREFIX}{body}"), &suffixes, PREFIX.len())
}

/// A shape as Python prints a tuple: `(0, 3)`, `(0,)`, `()`.
fn python_tuple(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Appends `, suffix` for each suffix, starting a new line when the current
/// one would pass the line width, then the closing parenthesis.
fn add_suffixes(mut text: String, suffixes: &[String], indent: usize) -> String {
    let mut last_line_len = match text.rfind('\n') {
        Some(at) => text.len() - at + 1,
        None => text.len() + 2,
    };
    for suffix in suffixes {
        if last_line_len + suffix.len() + 2 > LINE_WIDTH {
            text.push_str(&format!(",\n{}{suffix}", " ".repeat(indent)));
            last_line_len = indent + suffix.len();
        } else {
            text.push_str(&format!(", {suffix}"));
            last_line_len += suffix.len() + 2;
        }
    }
    text.push(')');
    text
}

/// The bracketed values of a non-empty tensor.
fn body(t: &Tensor, precision: usize) -> Result<String> {
    #[cfg(feature = "cuda")]
    if t.device().is_cuda() {
        return body(&crate::cuda::copy_to(t, Device::Cpu)?, precision);
    }
    let summarize = t.numel() > THRESHOLD;
    let guard = t.storage().read()?;
    let cells = with_buffer!(&*guard, v, T => shown_values(v, t.layout(), summarize));
    drop(guard);
    let formatter = CellFormatter::new(&cells, t.dtype().is_floating_point(), precision);
    let mut strings = cells.iter().map(|&c| formatter.format(c));
    Ok(nest(
        t.shape(),
        summarize,
        PREFIX.len(),
        formatter.width,
        &mut strings,
    ))
}

/// The indices printed along a dimension of `size`; `None` stands for `...`.
fn shown(size: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && size > 2 * EDGE_ITEMS {
        let head = (0..EDGE_ITEMS).map(Some);
        let tail = (size - EDGE_ITEMS..size).map(Some);
        head.chain(std::iter::once(None)).chain(tail).collect()
    } else {
        (0..size).map(Some).collect()
    }
}

/// The printed elements, row-major, as scalars.
fn shown_values<T: Element>(data: &[T], layout: &Layout, summarize: bool) -> Vec<Scalar> {
    fn walk<T: Element>(
        data: &[T],
        shape: &[usize],
        strides: &[isize],
        offset: isize,
        summarize: bool,
        out: &mut Vec<Scalar>,
    ) {
        let Some((&size, rest)) = shape.split_first() else {
            out.push(to_scalar(data[offset as usize]));
            return;
        };
        for i in shown(size, summarize).into_iter().flatten() {
            walk(
                data,
                rest,
                &strides[1..],
                offset + i as isize * strides[0],
                summarize,
                out,
            );
        }
    }
    let mut out = Vec::new();
    walk(
        data,
        layout.shape(),
        layout.strides(),
        layout.offset() as isize,
        summarize,
        &mut out,
    );
    out
}

fn to_scalar<T: Element>(x: T) -> Scalar {
    match T::DTYPE.category() {
        DTypeCategory::Float => Scalar::Float(x.to_f64()),
        DTypeCategory::Integer => Scalar::Int(x.to_i64()),
        DTypeCategory::Bool => Scalar::Bool(x.to_i64() != 0),
    }
}

/// Lays out formatted cells in nested brackets: elements of a row joined
/// by `, ` and wrapped to the line width, sub-tensors on their own lines
/// (with one blank line per extra dimension), each level indented one more.
fn nest(
    shape: &[usize],
    summarize: bool,
    indent: usize,
    width: usize,
    cells: &mut impl Iterator<Item = String>,
) -> String {
    let Some((&size, rest)) = shape.split_first() else {
        return cells.next().unwrap_or_default();
    };
    let rows: Vec<String> = if rest.is_empty() {
        let items: Vec<String> = shown(size, summarize)
            .into_iter()
            .map(|i| i.map_or_else(|| " ...".to_string(), |_| cells.next().unwrap_or_default()))
            .collect();
        let per_line = ((LINE_WIDTH.saturating_sub(indent)) / (width + 2)).max(1);
        items.chunks(per_line).map(|line| line.join(", ")).collect()
    } else {
        shown(size, summarize)
            .into_iter()
            .map(|i| match i {
                Some(_) => nest(rest, summarize, indent + 1, width, cells),
                None => "...".to_string(),
            })
            .collect()
    };
    let separator = format!(
        ",{}{}",
        "\n".repeat(rest.len().max(1)),
        " ".repeat(indent + 1)
    );
    format!("[{}]", rows.join(&separator))
}

/// How one tensor's elements are written (PyTorch's `_Formatter`).
struct CellFormatter {
    style: Style,
    precision: usize,
    /// The common width every cell is right-aligned to.
    width: usize,
}

#[derive(Clone, Copy)]
enum Style {
    /// Integers and booleans, as Python prints them.
    Plain,
    /// Floats: `int_mode` when every finite value is whole, `sci_mode` when
    /// magnitudes span more than 1000× or leave `[1e-4, 1e8]`.
    Float { int_mode: bool, sci_mode: bool },
}

impl CellFormatter {
    fn new(cells: &[Scalar], floating: bool, precision: usize) -> Self {
        if !floating {
            let width = cells
                .iter()
                .map(|&c| plain(c).len())
                .max()
                .unwrap_or(0)
                .max(1);
            return CellFormatter {
                style: Style::Plain,
                precision,
                width,
            };
        }
        let values: Vec<f64> = cells
            .iter()
            .map(|c| c.to_f64())
            .filter(|v| v.is_finite() && *v != 0.0)
            .collect();
        let Some(min) = values.iter().map(|v| v.abs()).reduce(f64::min) else {
            let style = Style::Float {
                int_mode: true,
                sci_mode: false,
            };
            return CellFormatter {
                style,
                precision,
                width: 1,
            };
        };
        let max = values.iter().map(|v| v.abs()).fold(min, f64::max);
        let int_mode = values.iter().all(|v| *v == v.ceil());
        let sci_mode = max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4;
        let len = |v: f64| match (sci_mode, int_mode) {
            (true, _) => scientific(v, precision).len(),
            (false, true) => fixed(v, 0).len() + 1,
            (false, false) => fixed(v, precision).len(),
        };
        let width = values.iter().map(|&v| len(v)).max().unwrap_or(0).max(1);
        CellFormatter {
            style: Style::Float { int_mode, sci_mode },
            precision,
            width,
        }
    }

    /// One cell, right-aligned to the common width.
    fn format(&self, cell: Scalar) -> String {
        let text = match self.style {
            Style::Plain => plain(cell),
            Style::Float { sci_mode: true, .. } => scientific(cell.to_f64(), self.precision),
            Style::Float { int_mode: true, .. } => {
                let v = cell.to_f64();
                let dot = if v.is_finite() { "." } else { "" };
                format!("{}{dot}", fixed(v, 0))
            }
            Style::Float { .. } => fixed(cell.to_f64(), self.precision),
        };
        format!("{text:>width$}", width = self.width)
    }
}

/// An integer or boolean as Python prints it.
fn plain(cell: Scalar) -> String {
    match cell {
        Scalar::Int(v) => v.to_string(),
        Scalar::Bool(true) => "True".into(),
        Scalar::Bool(false) => "False".into(),
        Scalar::Float(v) => fixed(v, DEFAULT_PRECISION),
    }
}

/// Python's `f"{v:.{p}f}"` (Rust rounds the exact binary value half-to-even too).
fn fixed(v: f64, precision: usize) -> String {
    non_finite(v).unwrap_or_else(|| format!("{v:.precision$}"))
}

/// Python's `f"{v:.{p}e}"`: `1.0000e+05` where Rust writes `1.0000e5`.
fn scientific(v: f64, precision: usize) -> String {
    if let Some(s) = non_finite(v) {
        return s;
    }
    let rust = format!("{v:.precision$e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// Python's spelling of NaN and the infinities.
fn non_finite(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("nan".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        None
    }
}

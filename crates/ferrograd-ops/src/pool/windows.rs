//! Where each pooling output reads: [`Windows`] lists, per output row and
//! per output column, the valid input positions of its window ([`Span`]),
//! computed once from the checked arguments with PyTorch's output-size rules
//! (`ceil_mode`, padding, dilation) and PyTorch's messages when they are bad.
//! Windows are separable, so a kernel's inner loops need no bounds checks.

use ferrograd_storage::{Error, Result};

/// The valid input positions of one window along one axis:
/// `start, start + step, …` (`len` of them), and how many positions the
/// window counts for averaging (`count`, padding included or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub step: usize,
    pub len: usize,
    pub count: usize,
}

/// The windows of a pooling over `planes` planes of `h × w` values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Windows {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub rows: Vec<Span>,
    pub cols: Vec<Span>,
    /// Step between the windows of consecutive columns (0 when irregular).
    pub col_stride: usize,
    pub divisor_override: Option<usize>,
}

impl Windows {
    /// Output rows.
    pub fn oh(&self) -> usize {
        self.rows.len()
    }

    /// Output columns.
    pub fn ow(&self) -> usize {
        self.cols.len()
    }

    /// The columns whose windows are whole (not cut by the padding) and
    /// evenly spaced: `(first, end, taps)`, empty for irregular windows.
    pub fn interior_cols(&self) -> (usize, usize, usize) {
        let full = self.cols.iter().map(|c| c.len).max().unwrap_or(0);
        if self.col_stride == 0 {
            return (0, 0, full);
        }
        let c0 = self.cols.iter().position(|c| c.len == full).unwrap_or(0);
        let c1 = c0 + self.cols[c0..].iter().take_while(|c| c.len == full).count();
        (c0, c1, full)
    }

    /// What output `(r, c)`'s sum is divided by when averaging.
    pub fn divisor(&self, r: usize, c: usize) -> usize {
        self.divisor_override
            .unwrap_or(self.rows[r].count * self.cols[c].count)
    }
}

/// The arguments of a sliding-window pooling, per axis `[height, width]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sliding {
    pub op: &'static str,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub ceil_mode: bool,
    pub count_include_pad: bool,
}

/// Splits a 3-D `(C, H, W)` or 4-D `(N, C, H, W)` shape into planes and
/// the plane's `h × w`; errors on other ranks and empty dims.
pub(crate) fn planes_of(op: &'static str, shape: &[usize]) -> Result<(usize, usize, usize)> {
    let ok = matches!(shape.len(), 3 | 4) && shape.iter().skip(shape.len() - 3).all(|&s| s > 0);
    if !ok {
        return Err(Error::invalid(
            op,
            format!("non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size {shape:?}"),
        ));
    }
    let n = shape.len();
    Ok((shape[..n - 2].iter().product(), shape[n - 2], shape[n - 1]))
}

impl Sliding {
    /// The windows over `shape`, after PyTorch's checks.
    pub fn windows(&self, shape: &[usize]) -> Result<Windows> {
        let (planes, h, w) = planes_of(self.op, shape)?;
        self.check_arguments()?;
        let outs = [0, 1].map(|a| self.output_size([h, w][a], a));
        if outs.iter().any(|&o| o < 1) {
            let c = shape[shape.len() - 3];
            return Err(Error::invalid(
                self.op,
                format!(
                    "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{}x{}). Output size is too small; use a smaller kernel, more padding or a bigger input",
                    outs[0].max(0),
                    outs[1].max(0)
                ),
            ));
        }
        Ok(Windows {
            planes,
            h,
            w,
            rows: self.axis([h, w][0], 0, outs[0] as usize),
            cols: self.axis([h, w][1], 1, outs[1] as usize),
            col_stride: self.stride[1],
            divisor_override: None,
        })
    }

    fn check_arguments(&self) -> Result<()> {
        let [kh, kw] = self.kernel;
        if kh == 0 || kw == 0 {
            return Err(Error::invalid(
                self.op,
                format!("kernel_size must be greater than zero, but got kH: {kh} kW: {kw}"),
            ));
        }
        let [sh, sw] = self.stride;
        if sh == 0 || sw == 0 {
            return Err(Error::invalid(
                self.op,
                format!("stride should be greater than zero, but got dH: {sh} dW: {sw}"),
            ));
        }
        let [dh, dw] = self.dilation;
        if dh == 0 || dw == 0 {
            return Err(Error::invalid(
                self.op,
                format!(
                    "dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}"
                ),
            ));
        }
        for a in 0..2 {
            let (k, p, d) = (self.kernel[a], self.padding[a], self.dilation[a]);
            if 2 * p > (k - 1) * d + 1 {
                return Err(Error::invalid(
                    self.op,
                    format!("pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} and dilation={d}"),
                ));
            }
        }
        Ok(())
    }

    /// PyTorch's `pooling_output_shape` for axis `a` (may be `< 1`).
    fn output_size(&self, size: usize, a: usize) -> isize {
        let (k, s, p, d) = (
            self.kernel[a] as isize,
            self.stride[a] as isize,
            self.padding[a] as isize,
            self.dilation[a] as isize,
        );
        let span = size as isize + 2 * p - d * (k - 1) - 1;
        let round = if self.ceil_mode { s - 1 } else { 0 };
        let mut out = (span + round).div_euclid(s) + 1;
        // The last window must start inside the input or its left padding.
        if self.ceil_mode && (out - 1) * s >= size as isize + p {
            out -= 1;
        }
        out
    }

    fn axis(&self, size: usize, a: usize, out: usize) -> Vec<Span> {
        let (k, s, p, d) = (
            self.kernel[a],
            self.stride[a],
            self.padding[a],
            self.dilation[a],
        );
        (0..out)
            .map(|o| {
                let first = (o * s) as isize - p as isize;
                // Taps t with 0 <= first + t·d < size.
                let (t0, t1) = crate::conv::valid_range(k, d, first, size);
                let padded_end = (first + ((k - 1) * d + 1) as isize).min((size + p) as isize);
                let count = if self.count_include_pad {
                    (padded_end - first) as usize
                } else {
                    t1 - t0
                };
                Span {
                    start: (first + (t0 * d) as isize).max(0) as usize,
                    step: d,
                    len: t1 - t0,
                    count,
                }
            })
            .collect()
    }
}

/// The windows of `adaptive_avg_pool2d` to `out = [oh, ow]` over `shape`.
pub(crate) fn adaptive(shape: &[usize], out: [usize; 2]) -> Result<Windows> {
    let op = "adaptive_avg_pool2d";
    if !matches!(shape.len(), 3 | 4) {
        return Err(Error::invalid(
            op,
            format!("Expected 3D or 4D tensor, but got {shape:?}"),
        ));
    }
    if let Some(d) = (shape.len() - 3..shape.len()).find(|&d| shape[d] == 0) {
        return Err(Error::invalid(
            op,
            format!("Expected input to have non-zero size for non-batch dimensions, but input has sizes {shape:?} with dimension {d} being empty"),
        ));
    }
    let (planes, h, w) = planes_of(op, shape)?;
    let axis = |size: usize, out: usize| -> Vec<Span> {
        (0..out)
            .map(|o| {
                let start = o * size / out;
                let end = ((o + 1) * size).div_ceil(out);
                Span {
                    start,
                    step: 1,
                    len: end - start,
                    count: end - start,
                }
            })
            .collect()
    };
    Ok(Windows {
        planes,
        h,
        w,
        rows: axis(h, out[0]),
        cols: axis(w, out[1]),
        col_stride: 0,
        divisor_override: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sliding(k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Sliding {
        Sliding {
            op: "test",
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [d, d],
            ceil_mode: ceil,
            count_include_pad: true,
        }
    }

    #[test]
    fn spans_list_the_in_image_taps_of_each_window() {
        for (k, s, p, d, ceil) in [
            (2, 2, 0, 1, false),
            (3, 2, 1, 1, true),
            (2, 1, 1, 2, false),
            (3, 3, 1, 1, true),
        ] {
            let win = sliding(k, s, p, d, ceil).windows(&[1, 7, 7]).unwrap();
            for (o, span) in win.rows.iter().enumerate() {
                let want: Vec<usize> = (0..k)
                    .map(|t| (o * s + t * d) as isize - p as isize)
                    .filter(|&i| (0..7).contains(&i))
                    .map(|i| i as usize)
                    .collect();
                let got: Vec<usize> = (0..span.len).map(|t| span.start + t * span.step).collect();
                assert_eq!(got, want, "k{k} s{s} p{p} d{d} ceil {ceil} window {o}");
            }
        }
    }

    #[test]
    fn ceil_mode_drops_a_window_that_starts_in_the_right_padding() {
        // 5 wide, k2 s2 p1: ceil would give 4 windows, the last starting at 5 (padding).
        let win = sliding(2, 2, 1, 1, true).windows(&[1, 5, 5]).unwrap();
        assert_eq!(win.ow(), 3);
        assert_eq!(
            sliding(2, 2, 0, 1, true).windows(&[1, 5, 5]).unwrap().ow(),
            3
        );
        assert_eq!(
            sliding(2, 2, 0, 1, false).windows(&[1, 5, 5]).unwrap().ow(),
            2
        );
    }

    #[test]
    fn adaptive_windows_cover_the_input() {
        let win = adaptive(&[1, 7, 5], [3, 2]).unwrap();
        let rows: Vec<(usize, usize)> = win
            .rows
            .iter()
            .map(|s| (s.start, s.start + s.len))
            .collect();
        assert_eq!(rows, vec![(0, 3), (2, 5), (4, 7)]);
        let cols: Vec<(usize, usize)> = win
            .cols
            .iter()
            .map(|s| (s.start, s.start + s.len))
            .collect();
        assert_eq!(cols, vec![(0, 3), (2, 5)]);
    }
}

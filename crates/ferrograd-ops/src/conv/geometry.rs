//! The shape arithmetic of a 2-D convolution: [`Geometry`] holds every size
//! the kernels need and is built only from checked arguments, with
//! PyTorch's messages for each way they can be wrong.

use super::Conv2dOptions;
use ferrograd_storage::{Error, Result};

/// Sizes of one `conv2d` call on a 4-D (NCHW) input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// Checks a 4-D input shape and a weight shape against `opts`.
    pub fn new(input: &[usize], weight: &[usize], opts: &Conv2dOptions) -> Result<Self> {
        let [n, c_in, h, w] = <[usize; 4]>::try_from(input).map_err(|_| {
            Error::invalid(
                "conv2d",
                format!("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {input:?}"),
            )
        })?;
        let [c_out, c_per_group, kh, kw] = <[usize; 4]>::try_from(weight).map_err(|_| {
            Error::invalid(
                "conv2d",
                format!("weight should have 4 dimensions (out_channels, in_channels / groups, kH, kW), but got weight of size {weight:?}"),
            )
        })?;
        check_positive(opts)?;
        let groups = opts.groups;
        if c_out % groups != 0 {
            return Err(Error::ShapeMismatch {
                op: "conv2d",
                lhs: input.to_vec(),
                rhs: weight.to_vec(),
                msg: format!("Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size {weight:?} instead"),
            });
        }
        if c_in != c_per_group * groups {
            return Err(Error::ShapeMismatch {
                op: "conv2d",
                lhs: input.to_vec(),
                rhs: weight.to_vec(),
                msg: format!(
                    "Given groups={groups}, weight of size {weight:?}, expected input{input:?} to have {} channels, but got {c_in} channels instead. Pass an input with {} channels, or a weight made for {c_in} input channels",
                    c_per_group * groups,
                    c_per_group * groups
                ),
            });
        }
        let [ph, pw] = opts.padding;
        let [dh, dw] = opts.dilation;
        let (ekh, ekw) = (dh * (kh.max(1) - 1) + 1, dw * (kw.max(1) - 1) + 1);
        if h + 2 * ph < ekh || w + 2 * pw < ekw || kh == 0 || kw == 0 {
            return Err(Error::invalid(
                "conv2d",
                format!(
                    "Calculated padded input size per channel: ({} x {}). Kernel size: ({ekh} x {ekw}). Kernel size can't be greater than actual input size. Pad the input or use a smaller kernel or dilation",
                    h + 2 * ph,
                    w + 2 * pw
                ),
            ));
        }
        let [sh, sw] = opts.stride;
        Ok(Geometry {
            n,
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride: opts.stride,
            padding: opts.padding,
            dilation: opts.dilation,
            groups,
            oh: (h + 2 * ph - ekh) / sh + 1,
            ow: (w + 2 * pw - ekw) / sw + 1,
        })
    }

    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c_in / self.groups
    }

    /// Output channels per group (rows of one group's product).
    pub fn m(&self) -> usize {
        self.c_out / self.groups
    }

    /// Rows of one group's column matrix: `cg · kh · kw`.
    pub fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }

    /// Output positions per image and channel.
    pub fn l(&self) -> usize {
        self.oh * self.ow
    }

    /// Input positions per image and channel.
    pub fn hw(&self) -> usize {
        self.h * self.w
    }

    /// The NCHW shape of the output.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.c_out, self.oh, self.ow]
    }

    /// The NCHW shape of the input.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.c_in, self.h, self.w]
    }

    /// The shape of the weight.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.c_out, self.cg(), self.kh, self.kw]
    }
}

fn check_positive(opts: &Conv2dOptions) -> Result<()> {
    if opts.stride.contains(&0) {
        return Err(Error::invalid(
            "conv2d",
            format!("non-positive stride is not supported (got stride={:?}); use a stride of at least 1", opts.stride),
        ));
    }
    if opts.dilation.contains(&0) {
        return Err(Error::invalid(
            "conv2d",
            format!(
                "dilation should be greater than zero (got dilation={:?})",
                opts.dilation
            ),
        ));
    }
    if opts.groups == 0 {
        return Err(Error::invalid(
            "conv2d",
            "non-positive groups is not supported (got groups=0); use groups=1 for an ordinary convolution",
        ));
    }
    Ok(())
}

/// The range of output positions `o` along one axis whose input position
/// `o·stride + offset` falls inside `0..size`, clamped to `0..out`.
pub(crate) fn valid_range(out: usize, stride: usize, offset: isize, size: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + s - 1) / s
    };
    let room = size as isize - offset;
    let hi = if room <= 0 { 0 } else { (room + s - 1) / s };
    let hi = (hi.max(0) as usize).min(out);
    ((lo as usize).min(hi), hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_matches_a_scan() {
        for out in 0..6 {
            for stride in 1..4 {
                for offset in -5..5isize {
                    for size in 0..7 {
                        let inside: Vec<usize> = (0..out)
                            .filter(|&o| {
                                let i = o as isize * stride as isize + offset;
                                i >= 0 && i < size as isize
                            })
                            .collect();
                        let (lo, hi) = valid_range(out, stride, offset, size);
                        assert_eq!(
                            (lo..hi).collect::<Vec<_>>(),
                            inside,
                            "{out} {stride} {offset} {size}"
                        );
                    }
                }
            }
        }
    }
}

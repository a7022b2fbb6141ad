//! conv2d, max_pool2d, avg_pool2d and adaptive_avg_pool2d: values, indices
//! and gradients against PyTorch's (tests/fixtures/conv.npz, written by
//! make_conv.py) on contiguous, flipped and channels-last inputs; conv
//! against a naive loop on sizes that take each kernel schedule; gradcheck
//! in f64 (first and second order); and every bad-input message.

use ferrograd::autograd::gradcheck;
use ferrograd::interop::npz::load_npz;
use ferrograd::ops::conv::conv2d;
use ferrograd::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn fixture() -> &'static HashMap<String, Tensor> {
    static F: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/conv.npz");
        load_npz(path).unwrap().into_iter().collect()
    })
}

fn get(name: &str) -> Tensor {
    fixture()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in conv.npz"))
        .clone()
}

fn args(case: &str) -> Vec<usize> {
    get(&format!("{case}.args"))
        .to_vec::<i64>()
        .unwrap()
        .into_iter()
        .map(|v| v as usize)
        .collect()
}

/// `sin(0), sin(1), ...` shaped like `out`: the weights of the fixture's loss.
fn loss_weights(out: &Tensor) -> Tensor {
    let w: Vec<f64> = (0..out.numel()).map(|i| (i as f64).sin()).collect();
    Tensor::from_vec(w, out.shape())
        .unwrap()
        .to_dtype(out.dtype())
        .unwrap()
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.double().unwrap().to_vec::<f64>().unwrap();
    let w = want.double().unwrap().to_vec::<f64>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}[{i}]: got {a}, want {b}"
        );
    }
}

type View = fn(&Tensor) -> Tensor;

fn ident(t: &Tensor) -> Tensor {
    t.clone()
}

/// Runs `op` on the fixture's tensors of `case` (through `views`) and
/// compares the output and the gradients of the fixture's loss.
fn check_case(case: &str, views: &[View], op: impl Fn(&[Tensor]) -> Result<Tensor>) -> Tensor {
    let leaves: Vec<Tensor> = ["x", "w", "b"][..views.len()]
        .iter()
        .map(|k| get(&format!("{case}.{k}")).requires_grad_(true).unwrap())
        .collect();
    let inputs: Vec<Tensor> = leaves.iter().zip(views).map(|(l, v)| v(l)).collect();
    let out = op(&inputs).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_close(&out, &get(&format!("{case}.out")), 1e-12, case);
    out.try_mul(&loss_weights(&out))
        .unwrap()
        .sum_dims(&[], false)
        .unwrap()
        .backward()
        .unwrap();
    for (leaf, g) in leaves.iter().zip(["gx", "gw", "gb"]) {
        let name = format!("{case}.{g}");
        assert_close(&leaf.grad().expect("a gradient"), &get(&name), 1e-12, &name);
    }
    out
}

fn conv_opts(a: &[usize]) -> Conv2dOptions {
    Conv2dOptions::new()
        .stride([a[0], a[1]])
        .padding([a[2], a[3]])
        .dilation([a[4], a[5]])
        .groups(a[6])
}

#[test]
fn conv2d_matches_pytorch() {
    let cases: [(&str, &[View]); 11] = [
        ("conv_basic", &[ident, ident, ident]),
        ("conv_strided_padded", &[ident, ident, ident]),
        ("conv_dilated", &[ident, ident, ident]),
        ("conv_groups", &[ident, ident, ident]),
        ("conv_depthwise", &[ident, ident]),
        ("conv_pointwise", &[ident, ident, ident]),
        ("conv_no_bias", &[ident, ident]),
        ("conv_unbatched", &[ident, ident, ident]),
        ("conv_big_kernel", &[ident, ident, ident]),
        (
            "conv_flipped",
            &[
                |t| t.flip(&[3]).unwrap(),
                |t| t.flip(&[2, 3]).unwrap(),
                ident,
            ],
        ),
        (
            "conv_channels_last",
            &[|t| t.permute(&[0, 3, 1, 2]).unwrap(), ident, ident],
        ),
    ];
    for (case, views) in cases {
        let opts = conv_opts(&args(case));
        check_case(case, views, |t| conv2d(&t[0], &t[1], t.get(2), opts));
    }
}

#[test]
fn max_pool2d_matches_pytorch_values_indices_and_gradients() {
    let cases: [(&str, View); 7] = [
        ("max_basic", ident),
        ("max_overlapping_padded", ident),
        ("max_ceil", ident),
        ("max_dilated", ident),
        ("max_unbatched", ident),
        ("max_flipped", |t| t.flip(&[2]).unwrap()),
        ("max_channels_last", |t| t.permute(&[0, 3, 1, 2]).unwrap()),
    ];
    for (case, view) in cases {
        let a = args(case);
        let opts = MaxPool2dOptions::new([a[0], a[1]])
            .stride([a[2], a[3]])
            .padding([a[4], a[5]])
            .dilation([a[6], a[7]])
            .ceil_mode(a[8] == 1);
        check_case(case, &[view], |t| t[0].max_pool2d(opts));
        let x = view(&get(&format!("{case}.x")));
        let (_, indices) = x.max_pool2d_with_indices(opts).unwrap();
        assert_eq!(indices.dtype(), DType::I64);
        assert_eq!(
            indices.to_vec::<i64>().unwrap(),
            get(&format!("{case}.indices")).to_vec::<i64>().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn avg_pool2d_matches_pytorch() {
    let cases: [(&str, View); 7] = [
        ("avg_basic", ident),
        ("avg_padded_include", ident),
        ("avg_padded_exclude", ident),
        ("avg_ceil_include", ident),
        ("avg_ceil_exclude", ident),
        ("avg_divisor", ident),
        ("avg_flipped", |t| t.flip(&[2, 3]).unwrap()),
    ];
    for (case, view) in cases {
        let a = args(case);
        let mut opts = AvgPool2dOptions::new([a[0], a[1]])
            .stride([a[2], a[3]])
            .padding([a[4], a[5]])
            .ceil_mode(a[6] == 1)
            .count_include_pad(a[7] == 1);
        if a[8] > 0 {
            opts = opts.divisor_override(a[8]);
        }
        check_case(case, &[view], |t| t[0].avg_pool2d(opts));
    }
}

#[test]
fn adaptive_avg_pool2d_matches_pytorch() {
    let cases: [(&str, View); 5] = [
        ("adaptive_uneven", ident),
        ("adaptive_global", ident),
        ("adaptive_upsampling", ident),
        ("adaptive_unbatched", ident),
        ("adaptive_channels_last", |t| {
            t.permute(&[0, 3, 1, 2]).unwrap()
        }),
    ];
    for (case, view) in cases {
        let a = args(case);
        check_case(case, &[view], |t| t[0].adaptive_avg_pool2d([a[0], a[1]]));
    }
}

/// conv2d by the definition, in f64: the output, and the gradients of
/// `sum(out * r)` for the input, weight and bias.
struct Naive {
    out: Vec<f64>,
    gx: Vec<f64>,
    gw: Vec<f64>,
    gb: Vec<f64>,
}

fn naive_conv(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    o: Conv2dOptions,
    out_shape: &[usize],
    r: &[f64],
) -> Naive {
    let (xs, ws) = (x.shape(), w.shape());
    let (n, c_in, h, wd) = (xs[0], xs[1], xs[2], xs[3]);
    let (c_out, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let (xv, wv, bv) = (
        x.to_vec::<f64>().unwrap(),
        w.to_vec::<f64>().unwrap(),
        b.to_vec::<f64>().unwrap(),
    );
    let mut res = Naive {
        out: vec![0.0; n * c_out * oh * ow],
        gx: vec![0.0; xv.len()],
        gw: vec![0.0; wv.len()],
        gb: vec![0.0; c_out],
    };
    let m = c_out / o.groups;
    for img in 0..n {
        for (co, &bias) in bv.iter().enumerate() {
            for y in 0..oh {
                for z in 0..ow {
                    let oi = ((img * c_out + co) * oh + y) * ow + z;
                    let mut acc = bias;
                    res.gb[co] += r[oi];
                    for c in 0..cg {
                        let ch = (co / m) * cg + c;
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (y * o.stride[0] + i * o.dilation[0]) as isize
                                    - o.padding[0] as isize;
                                let iw = (z * o.stride[1] + j * o.dilation[1]) as isize
                                    - o.padding[1] as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                    continue;
                                }
                                let xi = ((img * c_in + ch) * h + ih as usize) * wd + iw as usize;
                                let wi = ((co * cg + c) * kh + i) * kw + j;
                                acc += xv[xi] * wv[wi];
                                res.gx[xi] += r[oi] * wv[wi];
                                res.gw[wi] += r[oi] * xv[xi];
                            }
                        }
                    }
                    res.out[oi] = acc;
                }
            }
        }
    }
    res
}

#[test]
fn conv2d_matches_a_naive_loop_on_every_kernel_schedule() {
    manual_seed(11);
    // (input, weight, options): small per-image products; one image split by
    // rows; large forward and weight products over chunks (with groups); a
    // large input-gradient product.
    let cases: [(&[usize], &[usize], Conv2dOptions); 5] = [
        (
            &[3, 4, 10, 9],
            &[6, 2, 3, 3],
            Conv2dOptions::new()
                .groups(2)
                .stride([1, 2])
                .padding(1)
                .dilation([1, 2]),
        ),
        (&[1, 3, 13, 11], &[5, 3, 3, 3], Conv2dOptions::new()),
        (
            &[2, 2, 40, 40],
            &[4, 2, 5, 5],
            Conv2dOptions::new().padding(2),
        ),
        (
            &[2, 4, 40, 40],
            &[4, 2, 5, 5],
            Conv2dOptions::new().padding(2).groups(2),
        ),
        (
            &[2, 4, 22, 22],
            &[64, 4, 3, 3],
            Conv2dOptions::new().padding(1),
        ),
    ];
    for (xs, ws, opts) in cases {
        let x = Tensor::randn(xs, DType::F64)
            .unwrap()
            .requires_grad_(true)
            .unwrap();
        let w = Tensor::randn(ws, DType::F64)
            .unwrap()
            .requires_grad_(true)
            .unwrap();
        let b = Tensor::randn(&[ws[0]], DType::F64)
            .unwrap()
            .requires_grad_(true)
            .unwrap();
        let out = conv2d(&x, &w, Some(&b), opts).unwrap();
        let r = loss_weights(&out);
        let naive = naive_conv(&x, &w, &b, opts, out.shape(), &r.to_vec::<f64>().unwrap());
        let what = format!("{xs:?} * {ws:?}");
        let as_tensor = |v: Vec<f64>, t: &Tensor| Tensor::from_vec(v, t.shape()).unwrap();
        assert_close(&out, &as_tensor(naive.out, &out), 1e-10, &what);
        out.try_mul(&r)
            .unwrap()
            .sum_dims(&[], false)
            .unwrap()
            .backward()
            .unwrap();
        assert_close(
            &x.grad().unwrap(),
            &as_tensor(naive.gx, &x),
            1e-10,
            &format!("{what} gx"),
        );
        assert_close(
            &w.grad().unwrap(),
            &as_tensor(naive.gw, &w),
            1e-10,
            &format!("{what} gw"),
        );
        assert_close(
            &b.grad().unwrap(),
            &as_tensor(naive.gb, &b),
            1e-10,
            &format!("{what} gb"),
        );
        // f32 gives the same values to f32 precision.
        let out32 = conv2d(
            &x.float().unwrap(),
            &w.float().unwrap(),
            Some(&b.float().unwrap()),
            opts,
        )
        .unwrap();
        assert_close(&out32, &out, 1e-4, &format!("{what} f32"));
    }
}

fn leaf(shape: &[usize]) -> Tensor {
    Tensor::randn(shape, DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

/// `t` as a tensor that requires grad (gradcheck's perturbed copies do not).
fn differentiable(t: &Tensor) -> Tensor {
    if t.requires_grad() {
        t.clone()
    } else {
        t.requires_grad_(true).unwrap()
    }
}

/// For inputs `(x…, r)`: the gradients of `sum(f(x…) * r)` for every `x`,
/// squared and summed into one output. gradcheck on it checks the backward
/// of each backward, for `x` and for the incoming gradient `r` alike.
fn gradient_of(f: impl Fn(&[Tensor]) -> Result<Tensor>) -> impl Fn(&[Tensor]) -> Result<Tensor> {
    move |t: &[Tensor]| {
        let _on = enable_grad();
        let t: Vec<Tensor> = t.iter().map(differentiable).collect();
        let (xs, r) = t.split_at(t.len() - 1);
        let out = f(xs)?.try_mul(&r[0])?.sum_dims(&[], false)?;
        let opts = GradOptions {
            create_graph: true,
            ..Default::default()
        };
        let grads = grad(&[out], xs, opts)?;
        let mut total = Tensor::zeros(&[], DType::F64)?;
        for (i, g) in grads.into_iter().enumerate() {
            let g = g.expect("every input is used");
            total = total.try_add(
                &g.try_mul(&g)?
                    .sum_dims(&[], false)?
                    .try_mul((i + 1) as f64)?,
            )?;
        }
        Ok(total)
    }
}

/// `inputs` followed by a random `r` shaped like `f`'s output.
fn with_r(f: &dyn Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) -> Vec<Tensor> {
    let shape = f(inputs).unwrap().shape().to_vec();
    let mut all = inputs.to_vec();
    all.push(leaf(&shape));
    all
}

#[test]
fn conv2d_gradients_pass_gradcheck_to_second_order() {
    manual_seed(3);
    let opts = [
        Conv2dOptions::new(),
        Conv2dOptions::new().stride(2).padding(1),
        Conv2dOptions::new()
            .dilation([2, 1])
            .padding([2, 0])
            .groups(2),
    ];
    for o in opts {
        let f = move |t: &[Tensor]| conv2d(&t[0], &t[1], Some(&t[2]), o);
        let inputs = [
            leaf(&[2, 2, 5, 4]),
            leaf(&[4, 2 / o.groups, 3, 2]),
            leaf(&[4]),
        ];
        gradcheck(f, &inputs, 1e-6, 1e-7, 1e-5).unwrap_or_else(|e| panic!("{o:?}: {e}"));
        gradcheck(gradient_of(f), &with_r(&f, &inputs), 1e-6, 1e-6, 1e-4)
            .unwrap_or_else(|e| panic!("second order {o:?}: {e}"));
    }
}

/// A function of tensors to check.
type Op = Box<dyn Fn(&[Tensor]) -> Result<Tensor>>;

#[test]
fn pooling_gradients_pass_gradcheck_to_second_order() {
    manual_seed(4);
    let x = leaf(&[2, 2, 5, 6]);
    let pools: Vec<Op> = vec![
        Box::new(|t| t[0].max_pool2d(MaxPool2dOptions::new(2).stride(1).padding(1))),
        Box::new(|t| {
            t[0].max_pool2d(
                MaxPool2dOptions::new([3, 2])
                    .dilation([1, 2])
                    .ceil_mode(true),
            )
        }),
        Box::new(|t| {
            t[0].avg_pool2d(
                AvgPool2dOptions::new(3)
                    .stride(2)
                    .padding(1)
                    .ceil_mode(true),
            )
        }),
        Box::new(|t| {
            t[0].avg_pool2d(
                AvgPool2dOptions::new(3)
                    .stride(2)
                    .padding(1)
                    .count_include_pad(false),
            )
        }),
        Box::new(|t| t[0].adaptive_avg_pool2d([3, 4])),
    ];
    for (i, f) in pools.iter().enumerate() {
        gradcheck(f, std::slice::from_ref(&x), 1e-6, 1e-7, 1e-5)
            .unwrap_or_else(|e| panic!("pool {i}: {e}"));
        gradcheck(
            gradient_of(f),
            &with_r(f.as_ref(), std::slice::from_ref(&x)),
            1e-6,
            1e-6,
            1e-4,
        )
        .unwrap_or_else(|e| panic!("pool {i} second order: {e}"));
    }
}

#[test]
fn node_names_follow_pytorch() {
    let x = leaf(&[1, 1, 4, 4]);
    let name = |t: Tensor| t.grad_fn().unwrap().name();
    assert_eq!(
        name(
            x.conv2d(&leaf(&[1, 1, 2, 2]), None, Conv2dOptions::new())
                .unwrap()
        ),
        "ConvolutionBackward0"
    );
    assert_eq!(
        name(x.max_pool2d(MaxPool2dOptions::new(2)).unwrap()),
        "MaxPool2DWithIndicesBackward0"
    );
    assert_eq!(
        name(x.avg_pool2d(AvgPool2dOptions::new(2)).unwrap()),
        "AvgPool2DBackward0"
    );
    assert_eq!(
        name(x.adaptive_avg_pool2d(2).unwrap()),
        "AdaptiveAvgPool2DBackward0"
    );
    let frozen = Tensor::ones(&[1, 1, 4, 4], DType::F32).unwrap();
    assert!(frozen
        .max_pool2d(MaxPool2dOptions::new(2))
        .unwrap()
        .grad_fn()
        .is_none());
}

#[test]
fn an_empty_batch_gives_empty_outputs_and_gradients() {
    let x = Tensor::ones(&[0, 3, 5, 5], DType::F64)
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let w = leaf(&[4, 3, 3, 3]);
    let y = x.conv2d(&w, None, Conv2dOptions::new()).unwrap();
    assert_eq!(y.shape(), &[0, 4, 3, 3]);
    let p = y.max_pool2d(MaxPool2dOptions::new(2)).unwrap();
    assert_eq!(p.shape(), &[0, 4, 1, 1]);
    p.sum_dims(&[], false).unwrap().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![0.0; 108]);
    assert_eq!(x.grad().unwrap().shape(), &[0, 3, 5, 5]);
}

#[test]
fn ties_keep_the_first_maximum_like_pytorch() {
    let x = Tensor::ones(&[1, 1, 4, 4], DType::F32).unwrap();
    let indices = |o: MaxPool2dOptions| {
        x.max_pool2d_with_indices(o)
            .unwrap()
            .1
            .to_vec::<i64>()
            .unwrap()
    };
    // Whole windows (swept a tap column at a time) and windows cut by the padding.
    assert_eq!(indices(MaxPool2dOptions::new(2)), vec![0, 2, 8, 10]);
    assert_eq!(
        indices(MaxPool2dOptions::new(3).stride(2).padding(1)),
        vec![0, 1, 4, 5]
    );
}

#[test]
fn nan_wins_max_pooling_like_pytorch() {
    let x = Tensor::from_vec(vec![1.0f32, f32::NAN, 3.0, 2.0], &[1, 1, 2, 2]).unwrap();
    let (y, i) = x.max_pool2d_with_indices(MaxPool2dOptions::new(2)).unwrap();
    assert!(y.item::<f32>().unwrap().is_nan());
    assert_eq!(i.item::<i64>().unwrap(), 1);
}

fn err(r: Result<Tensor>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn bad_conv_inputs_are_errors_that_name_the_shapes() {
    let f = |s: &[usize]| Tensor::ones(s, DType::F32).unwrap();
    let o = Conv2dOptions::new();
    let e = err(conv2d(&f(&[1, 1, 28, 28]), &f(&[64, 3, 3, 3]), None, o));
    assert!(e.contains("Given groups=1, weight of size [64, 3, 3, 3], expected input[1, 1, 28, 28] to have 3 channels, but got 1 channels instead"), "{e}");
    let e = err(conv2d(&f(&[28, 28]), &f(&[64, 3, 3, 3]), None, o));
    assert!(e.contains("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [28, 28]"), "{e}");
    let e = err(conv2d(&f(&[1, 3, 28, 28]), &f(&[64, 3, 3]), None, o));
    assert!(
        e.contains("weight should have 4 dimensions") && e.contains("[64, 3, 3]"),
        "{e}"
    );
    let e = err(conv2d(&f(&[1, 3, 2, 2]), &f(&[4, 3, 3, 3]), None, o));
    assert!(e.contains("Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater than actual input size"), "{e}");
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &f(&[4, 3, 3, 3]),
        None,
        o.dilation(2),
    ));
    assert!(
        e.contains("padded input size per channel: (4 x 4). Kernel size: (5 x 5)"),
        "{e}"
    );
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &f(&[4, 3, 3, 3]),
        None,
        o.stride([1, 0]),
    ));
    assert!(e.contains("non-positive stride is not supported"), "{e}");
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &f(&[4, 3, 3, 3]),
        None,
        o.dilation(0),
    ));
    assert!(e.contains("dilation should be greater than zero"), "{e}");
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &f(&[4, 3, 3, 3]),
        None,
        o.groups(0),
    ));
    assert!(e.contains("non-positive groups is not supported"), "{e}");
    let e = err(conv2d(
        &f(&[1, 2, 4, 4]),
        &f(&[3, 1, 3, 3]),
        None,
        o.groups(2),
    ));
    assert!(e.contains("Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 1, 3, 3] instead"), "{e}");
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &f(&[4, 3, 3, 3]),
        Some(&f(&[10])),
        o,
    ));
    assert!(e.contains("Given weight of size [4, 3, 3, 3], expected bias to be 1-dimensional with 4 elements, but got bias of size [10] instead"), "{e}");
    let e = err(conv2d(
        &f(&[1, 3, 4, 4]),
        &Tensor::ones(&[4, 3, 3, 3], DType::F64).unwrap(),
        None,
        o,
    ));
    assert!(
        e.contains("Input type (float32) and weight/bias type (float64) should be the same"),
        "{e}"
    );
    let ints = Tensor::ones(&[1, 3, 4, 4], DType::I64).unwrap();
    let e = err(conv2d(
        &ints,
        &Tensor::ones(&[4, 3, 3, 3], DType::I64).unwrap(),
        None,
        o,
    ));
    assert!(
        e.contains("conv2d is not implemented for dtype int64"),
        "{e}"
    );
}

#[test]
fn bad_pooling_inputs_are_errors() {
    let x = Tensor::ones(&[1, 3, 2, 2], DType::F32).unwrap();
    let e = err(x.max_pool2d(MaxPool2dOptions::new(3)));
    assert!(
        e.contains(
            "Given input size: (3x2x2). Calculated output size: (3x0x0). Output size is too small"
        ),
        "{e}"
    );
    let e = err(x.max_pool2d(MaxPool2dOptions::new(0)));
    assert!(
        e.contains("kernel_size must be greater than zero, but got kH: 0 kW: 0"),
        "{e}"
    );
    let e = err(x.max_pool2d(MaxPool2dOptions::new(2).stride([0, 1])));
    assert!(
        e.contains("stride should be greater than zero, but got dH: 0 dW: 1"),
        "{e}"
    );
    let e = err(x.max_pool2d(MaxPool2dOptions::new(2).dilation(0)));
    assert!(e.contains("dilation should be greater than zero"), "{e}");
    let e = err(x.max_pool2d(MaxPool2dOptions::new(2).padding(2)));
    assert!(e.contains("pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1"), "{e}");
    let e = err(Tensor::ones(&[4, 4], DType::F32)
        .unwrap()
        .max_pool2d(MaxPool2dOptions::new(2)));
    assert!(e.contains("non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size [4, 4]"), "{e}");
    let e = err(x.avg_pool2d(AvgPool2dOptions::new(2).divisor_override(0)));
    assert!(e.contains("divisor must be not zero"), "{e}");
    let e = err(Tensor::ones(&[1, 4, 4], DType::I64)
        .unwrap()
        .avg_pool2d(AvgPool2dOptions::new(2)));
    assert!(
        e.contains("avg_pool2d is not implemented for dtype int64"),
        "{e}"
    );
    let e = err(Tensor::ones(&[4, 4], DType::F32)
        .unwrap()
        .adaptive_avg_pool2d(2));
    assert!(
        e.contains("adaptive_avg_pool2d: Expected 3D or 4D tensor, but got [4, 4]"),
        "{e}"
    );
    let e = err(Tensor::ones(&[2, 0, 4], DType::F32)
        .unwrap()
        .adaptive_avg_pool2d(2));
    assert!(
        e.contains("non-zero size for non-batch dimensions")
            && e.contains("dimension 1 being empty"),
        "{e}"
    );
}

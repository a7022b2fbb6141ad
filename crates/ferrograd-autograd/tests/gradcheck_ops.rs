//! `gradcheck` on every differentiable op of this crate: arithmetic with
//! broadcasting, reductions, dtype casts, views and in-place ops.
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in tests

use ferrograd_autograd::*;

fn input(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    // A fixed, irregular sequence away from zero (division is checked too).
    let data: Vec<f64> = (0..n)
        .map(|i| {
            let v = ((i as u64 * 7919 + seed * 104729) % 1000) as f64 / 250.0 - 2.0;
            if v.abs() < 0.3 {
                v + 0.7
            } else {
                v
            }
        })
        .collect();
    Tensor::from_vec(data, shape)
        .unwrap()
        .requires_grad_(true)
        .unwrap()
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    gradcheck(f, inputs, 1e-6, 1e-5, 1e-3).unwrap();
}

#[test]
fn gradcheck_itself_catches_a_wrong_rule() {
    let x = input(&[3], 1);
    let wrong = |t: &[Tensor]| -> Result<Tensor> {
        let out = t[0].try_mul(&t[0])?.detach();
        Ok(out.with_grad_fn("WrongBackward", &[&t[0]], &[], |g| {
            Ok(vec![Some(g.clone())])
        }))
    };
    let e = gradcheck(wrong, &[x], 1e-6, 1e-5, 1e-3).unwrap_err();
    assert!(e.to_string().starts_with("Jacobian mismatch"), "{e}");
    let f32_input = Tensor::from_slice(&[1.0f32], &[1])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    assert!(gradcheck(|t| Ok(t[0].clone()), &[f32_input], 1e-6, 1e-5, 1e-3).is_err());
}

#[test]
fn arithmetic_with_broadcasting() {
    let (a, b) = (input(&[2, 3], 1), input(&[3], 2));
    check(|t| t[0].try_add(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].try_sub(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].try_mul(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[0].try_div(&t[1]), &[a.clone(), b.clone()]);
    check(|t| t[1].try_div(&t[0]), &[a.clone(), b.clone()]);
    check(|t| t[0].try_neg(), &[a.clone()]);
    check(|t| t[0].try_mul(2.5)?.try_sub(1.0), &[a.clone()]);
    let col = input(&[2, 1], 3);
    check(|t| t[0].try_mul(&t[1]), &[col, b]);
}

#[test]
fn arithmetic_on_non_contiguous_and_negative_stride_inputs() {
    let a = input(&[3, 4], 4);
    let b = input(&[4, 3], 5);
    check(|t| t[0].try_mul(&t[1].t()?), &[a.clone(), b.clone()]);
    check(
        |t| {
            t[0].flip(&[1])?
                .try_div(&t[1].t()?.slice(0, None, None, -1)?)
        },
        &[a, b],
    );
}

#[test]
fn reductions() {
    let a = input(&[2, 3, 4], 6);
    check(|t| t[0].sum(), &[a.clone()]);
    check(|t| t[0].sum_dims(&[1], false), &[a.clone()]);
    check(|t| t[0].sum_dims(&[0, -1], true), &[a.clone()]);
    check(|t| t[0].mean(), &[a.clone()]);
    check(|t| t[0].mean_dims(&[2], false), &[a.clone()]);
    check(|t| t[0].sum_to_size(&[3, 1]), &[a]);
}

#[test]
fn views() {
    let a = input(&[2, 3, 4], 7);
    check(|t| t[0].reshape(&[6, 4]), &[a.clone()]);
    check(|t| t[0].view(&[4, -1]), &[a.clone()]);
    check(|t| t[0].permute(&[2, 0, 1])?.reshape(&[-1]), &[a.clone()]);
    check(|t| t[0].transpose(0, 2), &[a.clone()]);
    check(|t| t[0].select(1, -1)?.t(), &[a.clone()]);
    check(|t| t[0].unsqueeze(1)?.squeeze_dim(1), &[a.clone()]);
    check(|t| t[0].narrow(2, 1, 2), &[a.clone()]);
    check(|t| t[0].slice(2, Some(3), None, -2), &[a.clone()]);
    check(|t| t[0].flip(&[0, 2]), &[a.clone()]);
    check(|t| t[0].flatten(0, 1), &[a.clone()]);
    check(|t| t[0].unflatten(2, &[2, 2]), &[a.clone()]);
    check(
        |t| t[0].contiguous(),
        &[a.transpose(0, 1)
            .unwrap()
            .detach()
            .requires_grad_(true)
            .unwrap()],
    );
    check(|t| t[0].deep_clone(), &[a.clone()]);
    let s = input(&[3, 1], 8);
    check(|t| t[0].expand(&[2, 3, 4]), &[s.clone()]);
    check(|t| Ok(t[0].squeeze()), &[s]);
}

#[test]
fn views_of_views_are_twice_differentiable() {
    // The slice backward is itself differentiable (a scatter whose backward is the slice).
    let x = input(&[4], 9);
    let y = x.slice(0, None, None, -2).unwrap();
    let prod = (&y * &y).sum().unwrap();
    let g = grad(
        &[prod],
        &[x.clone()],
        GradOptions {
            create_graph: true,
            ..Default::default()
        },
    )
    .unwrap()[0]
        .clone()
        .unwrap();
    let xs = x.to_vec::<f64>().unwrap();
    assert_eq!(
        g.to_vec::<f64>().unwrap(),
        vec![0.0, 2.0 * xs[1], 0.0, 2.0 * xs[3]]
    );
    g.sum().unwrap().backward().unwrap();
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>().unwrap(),
        vec![0.0, 2.0, 0.0, 2.0]
    );
}

#[test]
fn dtype_casts() {
    // Through f32 the finite differences need a coarser step.
    let coarse = GradcheckOptions {
        eps: 1e-3,
        atol: 1e-3,
        rtol: 1e-3,
    };
    let a = input(&[3], 10);
    gradcheck_with(|t| t[0].float()?.double(), &[a.clone()], coarse).unwrap();
    gradcheck_with(|t| t[0].try_mul(&t[0].float()?), &[a], coarse).unwrap();
}

#[test]
fn in_place_ops_on_non_leaves() {
    let (a, b) = (input(&[2, 3], 11), input(&[3], 12));
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.add_(&t[1])?;
            Ok(y)
        },
        &[a.clone(), b.clone()],
    );
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.sub_(&t[1])?;
            Ok(y)
        },
        &[a.clone(), b.clone()],
    );
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.mul_(&t[1])?;
            Ok(y)
        },
        &[a.clone(), b.clone()],
    );
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.div_(&t[1])?;
            Ok(y)
        },
        &[a.clone(), b.clone()],
    );
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.copy_(&t[1])?;
            y.try_mul(&t[0])
        },
        &[a.clone(), b],
    );
    check(
        |t| {
            let y = t[0].try_mul(1.0)?;
            y.fill_(2.0)?;
            y.try_mul(&t[0])
        },
        &[a],
    );
}

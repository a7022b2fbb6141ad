//! `numpy()`, `numpy_mut()`, `to_ndarray()`, `from_ndarray()`, `item()` and
//! `to_vec2/3()`: PyTorch's rules and messages, zero-copy sharing in both
//! directions, strides (negative and zero), dtypes, and the version counter.

use ferrograd_autograd::{no_grad, DType, Error, Tensor};
use ferrograd_interop::{TensorFromNdarray, TensorNumpyExt};
use ndarray::{array, s, Array, ArrayD, Dimension, ShapeBuilder};

type R = ferrograd_autograd::Result<()>;

/// A 3x4 f32 tensor holding 0..12 and the data it was built from.
fn grid() -> (Tensor, Vec<f32>) {
    let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
    (Tensor::from_vec(data.clone(), &[3, 4]).unwrap(), data)
}

/// Checks every element of `t.numpy()` against `base[offset + Σ i·stride]`
/// computed by hand, and that the view has the tensor's strides.
fn assert_view_matches(t: &Tensor, base: &[f32]) {
    let v = t.numpy::<f32>().unwrap();
    let a = v.view();
    assert_eq!(a.shape(), t.shape());
    if t.numel() > 0 {
        assert_eq!(a.strides(), t.strides());
    }
    let mut count = 0;
    for (index, &x) in a.indexed_iter() {
        let at: isize = t.storage_offset() as isize
            + index
                .slice()
                .iter()
                .zip(t.strides())
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        assert_eq!(x, base[at as usize], "at {index:?}");
        count += 1;
    }
    assert_eq!(count, t.numel());
    assert_eq!(
        a.iter().copied().collect::<Vec<_>>(),
        t.to_vec::<f32>().unwrap()
    );
}

#[test]
fn views_have_the_tensors_strides_and_elements() -> R {
    let (t, base) = grid();
    let cases = [
        t.clone(),
        t.t()?,
        t.slice(1, None, None, -1)?, // t[:, ::-1]
        t.flip(&[0, 1])?,            // both strides negative
        t.slice(0, Some(2), Some(0), -2)?
            .slice(1, Some(1), None, 2)?, // t[2:0:-2, 1::2]
        t.narrow(1, 1, 2)?,          // offset 1
        t.select(0, 1)?,             // 1-D with offset 4
        t.select(0, 2)?.select(0, 3)?, // 0-d at offset 11
        t.unsqueeze(1)?.expand(&[3, 5, 4])?, // stride 0
        t.narrow(0, 1, 0)?,          // empty
        t.t()?.slice(0, None, None, -1)?.unsqueeze(0)?, // size-1 dim in front
    ];
    for c in &cases {
        assert_view_matches(c, &base);
    }
    Ok(())
}

#[test]
fn a_view_aliases_the_storage_without_copying() -> R {
    let (t, _) = grid();
    let v = t.slice(1, None, None, -1)?.numpy::<f32>()?;
    let storage_start = t.storage().read()?.as_ptr() as *const f32;
    // The logical first element of t[:, ::-1] is storage element 3.
    assert_eq!(v.view().as_ptr(), storage_start.wrapping_add(3));
    Ok(())
}

#[test]
fn views_keep_the_storage_alive() -> R {
    let (t, base) = grid();
    let storage = t.storage().clone();
    let v = t.t()?.numpy::<f32>()?;
    drop(t);
    drop(storage);
    assert_eq!(v.view()[[3, 2]], base[2 * 4 + 3]);
    Ok(())
}

#[test]
fn every_dtype_views_and_round_trips_without_changing_type() -> R {
    fn check<T: ferrograd_autograd::Element>(values: Vec<T>, dtype: DType) -> R {
        let a = Array::from_shape_vec((2, 2), values.clone())
            .unwrap()
            .into_dyn();
        let t = Tensor::from_ndarray(a.clone())?;
        assert_eq!(t.dtype(), dtype);
        assert_eq!(t.numpy::<T>()?.view(), a.view());
        assert_eq!(t.to_ndarray::<T>()?, a);
        assert_eq!(Tensor::from_ndarray_view(a.view())?.to_vec::<T>()?, values);
        Ok(())
    }
    check(vec![1.5f32, -2.0, 0.0, 4.25], DType::F32)?;
    check(vec![1.5f64, -2.0, 1e300, 4.25], DType::F64)?;
    check(vec![i64::MIN, -1, 0, i64::MAX], DType::I64)?;
    check(vec![i32::MIN, -1, 0, i32::MAX], DType::I32)?;
    check(vec![0u8, 1, 128, 255], DType::U8)?;
    check(vec![true, false, false, true], DType::Bool)?;
    Ok(())
}

// ----- PyTorch's rules, in its order -----

#[test]
fn requires_grad_is_refused_while_grad_mode_is_on() -> R {
    let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    let msg =
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.";
    assert!(matches!(w.numpy::<f32>(), Err(Error::Autograd(m)) if m == msg));
    assert!(matches!(w.numpy_mut::<f32>(), Err(Error::Autograd(m)) if m == msg));
    // A result of an op on it requires grad too.
    let y = &w * 2.0;
    assert_eq!(y.numpy::<f32>().unwrap_err().to_string(), msg);
    // The grad rule comes before the dtype rule.
    assert_eq!(w.numpy::<i64>().unwrap_err().to_string(), msg);
    assert_eq!(
        w.detach()
            .numpy::<f32>()?
            .view()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![1.0, 2.0]
    );
    Ok(())
}

#[test]
fn requires_grad_is_allowed_under_no_grad() -> R {
    let w = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?.requires_grad_(true)?;
    let _guard = no_grad();
    assert_eq!(
        w.numpy::<f32>()?.view().iter().copied().collect::<Vec<_>>(),
        vec![1.0, 2.0]
    );
    w.numpy_mut::<f32>()?.view_mut()[[0]] = 5.0;
    assert_eq!(w.to_vec::<f32>()?, vec![5.0, 2.0]);
    Ok(())
}

#[test]
fn the_wrong_element_type_names_both_dtypes() -> R {
    let t = Tensor::from_vec(vec![1i64, 2], &[2])?;
    for e in [
        t.numpy::<f32>().unwrap_err(),
        t.numpy_mut::<i32>().unwrap_err(),
        t.to_ndarray::<f64>().unwrap_err(),
    ] {
        let Error::DTypeMismatch { expected, got, .. } = &e else {
            panic!("{e}")
        };
        assert_ne!(expected, got);
        assert_eq!(*got, DType::I64);
        assert!(
            e.to_string()
                .contains(&format!("expected dtype {expected} but got int64")),
            "{e}"
        );
    }
    Ok(())
}

#[test]
fn overlapping_memory_gets_no_writable_view() -> R {
    let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    let e = t.expand(&[2, 3])?.numpy_mut::<f32>().unwrap_err();
    assert!(
        e.to_string().contains(
            "more than one element of the written-to tensor refers to a single memory location"
        ),
        "{e}"
    );
    // A layout that overlaps without a zero stride (built by hand).
    let odd = Tensor::from_parts(
        t.storage().clone(),
        ferrograd_autograd::Layout::new(vec![2, 2], vec![1, 1], 0),
    )?;
    let e = odd.numpy_mut::<f32>().unwrap_err();
    assert!(e.to_string().contains("makes elements share memory"), "{e}");
    // Reading them is fine.
    assert_eq!(
        odd.numpy::<f32>()?.view(),
        array![[1.0f32, 2.0], [2.0, 3.0]].into_dyn()
    );
    Ok(())
}

#[test]
fn numpy_force_skips_the_rules_and_copies() -> R {
    let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?.requires_grad_(true)?;
    let mut a = w.t()?.numpy_force::<f32>()?;
    assert_eq!(a, array![[1.0f32, 3.0], [2.0, 4.0]].into_dyn());
    a[[0, 0]] = 100.0;
    assert_eq!(w.to_vec::<f32>()?, vec![1.0, 2.0, 3.0, 4.0]);
    Ok(())
}

// ----- borrow rules -----

fn is_borrowed<T>(r: ferrograd_autograd::Result<T>) -> bool {
    matches!(r, Err(Error::StorageBorrowed { .. }))
}

#[test]
fn a_writable_view_excludes_every_other_access() -> R {
    let (t, _) = grid();
    let alias = t.t()?; // shares the storage
    let v = t.numpy_mut::<f32>()?;
    assert!(is_borrowed(t.numpy::<f32>()));
    assert!(is_borrowed(alias.numpy_mut::<f32>()));
    assert!(is_borrowed(t.to_vec::<f32>()));
    assert!(is_borrowed(alias.try_add(1.0)));
    assert!(is_borrowed(t.add_(1.0)));
    assert!(is_borrowed(t.to_ndarray::<f32>()));
    assert!(is_borrowed(t.select(0, 1)?.select(0, 1)?.item::<f32>()));
    drop(v);
    assert_eq!(alias.try_add(1.0)?.numel(), 12);
    Ok(())
}

#[test]
fn shared_views_allow_reads_but_not_in_place_writes() -> R {
    let (t, base) = grid();
    let v1 = t.numpy::<f32>()?;
    let v2 = t.flip(&[1])?.numpy::<f32>()?;
    assert_eq!(v1.view()[[1, 0]], v2.view()[[1, 3]]);
    assert_eq!(t.try_add(1.0)?.to_vec::<f32>()?[0], base[0] + 1.0);
    assert!(is_borrowed(t.add_(1.0)));
    assert!(is_borrowed(t.numpy_mut::<f32>()));
    drop((v1, v2));
    t.add_(1.0)?;
    Ok(())
}

// ----- sharing in both directions -----

#[test]
fn writes_through_numpy_mut_show_in_the_tensor_and_its_views() -> R {
    let (t, _) = grid();
    let rev = t.slice(1, None, None, -1)?; // t[:, ::-1]
    {
        let mut v = rev.numpy_mut::<f32>()?;
        v.view_mut()[[0, 0]] = 100.0; // t[0, 3]
        v.view_mut().slice_mut(s![2, ..]).fill(-1.0); // t[2, :]
    }
    let want: Vec<f32> = (0..12)
        .map(|i| match i {
            3 => 100.0,
            8..=11 => -1.0,
            i => i as f32,
        })
        .collect();
    assert_eq!(t.to_vec::<f32>()?, want);
    assert_eq!(t.t()?.numpy::<f32>()?.view()[[3, 0]], 100.0);
    Ok(())
}

#[test]
fn add_in_place_shows_in_the_next_view_and_out_of_place_add_does_not() -> R {
    let (t, base) = grid();
    let plus_one: Vec<f32> = base.iter().map(|v| v + 1.0).collect();
    let before = t.numpy::<f32>()?.view().to_owned();
    let out_of_place = &t + 1.0;
    assert_eq!(t.numpy::<f32>()?.view(), before.view());
    assert_eq!(
        out_of_place
            .numpy::<f32>()?
            .view()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        plus_one
    );
    t.add_(1.0)?;
    assert_eq!(
        t.numpy::<f32>()?.view().iter().copied().collect::<Vec<_>>(),
        plus_one
    );
    Ok(())
}

#[test]
fn from_ndarray_takes_the_buffer_and_numpy_gives_it_back() -> R {
    let a = Array::from_shape_vec((2, 3), vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let ptr = a.as_ptr();
    let t = Tensor::from_ndarray(a)?;
    assert_eq!(t.storage().read()?.as_ptr() as *const f64, ptr);
    assert_eq!(t.numpy::<f64>()?.view().as_ptr(), ptr);
    Ok(())
}

#[test]
fn from_ndarray_view_copies() -> R {
    let mut a = array![[1i32, 2], [3, 4]];
    let t = Tensor::from_ndarray_view(a.view())?;
    assert_ne!(t.storage().read()?.as_ptr() as *const i32, a.as_ptr());
    a[[0, 0]] = 9;
    assert_eq!(t.to_vec::<i32>()?, vec![1, 2, 3, 4]);
    Ok(())
}

#[test]
fn from_ndarray_keeps_any_layout() -> R {
    let base: Vec<i64> = (0..12).collect();
    let naive = |a: &ndarray::ArrayD<i64>| a.iter().copied().collect::<Vec<_>>();
    let layouts: Vec<ArrayD<i64>> = vec![
        Array::from_shape_vec((3, 4), base.clone())
            .unwrap()
            .into_dyn(),
        Array::from_shape_vec((3, 4).f(), base.clone())
            .unwrap()
            .into_dyn(),
        Array::from_shape_vec((3, 4), base.clone())
            .unwrap()
            .slice_move(s![..;-1, 1..;2])
            .into_dyn(),
        Array::from_shape_vec((3, 4), base.clone())
            .unwrap()
            .slice_move(s![.., ..;-1])
            .into_dyn(),
        Array::from_shape_vec((2, 2, 3), base.clone())
            .unwrap()
            .permuted_axes([2, 0, 1])
            .into_dyn(),
        Array::from_shape_vec((3, 4), base.clone())
            .unwrap()
            .slice_move(s![1, 2])
            .into_dyn(),
        Array::from_shape_vec((3, 4), base.clone())
            .unwrap()
            .slice_move(s![1..1, ..])
            .into_dyn(),
    ];
    for a in layouts {
        let want = naive(&a);
        let strides = a.strides().to_vec();
        let shape = a.shape().to_vec();
        let t = Tensor::from_ndarray(a)?;
        assert_eq!(t.shape(), shape);
        if t.numel() > 0 {
            assert_eq!(t.strides(), strides);
        }
        assert_eq!(t.to_vec::<i64>()?, want);
    }
    Ok(())
}

// ----- the version counter -----

#[test]
fn dropping_a_writable_view_bumps_the_version_once() -> R {
    let (t, _) = grid();
    let v0 = t.version();
    let v = t.numpy_mut::<f32>()?;
    assert_eq!(t.version(), v0);
    drop(v);
    assert_eq!(t.version(), v0 + 1);
    drop(t.numpy::<f32>()?);
    assert_eq!(t.version(), v0 + 1);
    Ok(())
}

#[test]
fn backward_fails_after_a_saved_tensor_was_written_through_numpy_mut() -> R {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?.requires_grad_(true)?;
    let w = Tensor::from_vec(vec![4.0f32, 5.0, 6.0], &[3])?;
    let y = &x * &w; // saves w for x's gradient
    w.numpy_mut::<f32>()?.view_mut()[[0]] = 100.0;
    let e = y.sum().unwrap().backward().unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("modified by an inplace operation"), "{msg}");
    assert!(msg.contains("[Float [3]]"), "{msg}");
    assert!(x.grad().is_none());
    Ok(())
}

#[test]
fn backward_fails_after_a_leaf_was_written_under_no_grad() -> R {
    let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?.requires_grad_(true)?;
    let y = &x * &x;
    with_no_grad_write(&x)?;
    let e = y.sum().unwrap().backward().unwrap_err();
    assert!(
        e.to_string().contains("modified by an inplace operation"),
        "{e}"
    );
    // Without a write in between, backward works and sees the new values.
    let y = &x * &x;
    y.sum()?.backward()?;
    assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![2.0 * 7.0, 4.0]);
    Ok(())
}

fn with_no_grad_write(x: &Tensor) -> R {
    let _guard = no_grad();
    x.numpy_mut::<f64>()?.view_mut()[[0]] = 7.0;
    Ok(())
}

// ----- item, to_vec2, to_vec3 -----

#[test]
fn item_reads_one_element_at_its_offset_whatever_the_rank() -> R {
    let (t, base) = grid();
    assert_eq!(t.select(0, 2)?.select(0, 1)?.item::<f32>()?, base[9]);
    assert_eq!(t.narrow(0, 1, 1)?.narrow(1, 3, 1)?.item::<f32>()?, base[7]);
    let flipped = t
        .flip(&[0, 1])?
        .narrow(0, 0, 1)?
        .narrow(1, 0, 1)?
        .unsqueeze(0)?;
    assert_eq!(flipped.shape(), &[1, 1, 1]);
    assert_eq!(flipped.item::<f32>()?, base[11]);
    assert_eq!(flipped.numpy::<f32>()?.view()[[0, 0, 0]], base[11]);
    let e = t.select(0, 0)?.narrow(0, 0, 3)?.item::<f32>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "a Tensor with 3 elements cannot be converted to Scalar"
    );
    Ok(())
}

#[test]
fn to_vec2_and_to_vec3_follow_the_logical_order() -> R {
    let (t, base) = grid();
    let tt = t.t()?.slice(1, None, None, -1)?; // [4, 3], tt[i][j] = t[2 - j][i]
    let want: Vec<Vec<f32>> = (0..4)
        .map(|i| (0..3).map(|j| base[(2 - j) * 4 + i]).collect())
        .collect();
    assert_eq!(tt.to_vec2::<f32>()?, want);
    let cube = t.reshape(&[2, 3, 2])?;
    let want: Vec<Vec<Vec<f32>>> = (0..2)
        .map(|p| {
            (0..3)
                .map(|r| (0..2).map(|c| base[p * 6 + r * 2 + c]).collect())
                .collect()
        })
        .collect();
    assert_eq!(cube.to_vec3::<f32>()?, want);
    assert_eq!(
        t.narrow(1, 0, 0)?.to_vec2::<f32>()?,
        vec![Vec::<f32>::new(); 3]
    );
    assert!(t.narrow(0, 0, 0)?.to_vec2::<f32>()?.is_empty());
    Ok(())
}

#[test]
fn to_vec2_and_to_vec3_name_the_rank() -> R {
    let (t, _) = grid();
    let e = t.to_vec3::<f32>().unwrap_err();
    assert!(
        e.to_string()
            .contains("expected a 3-D tensor but got a 2-D tensor of shape [3, 4]"),
        "{e}"
    );
    let e = t.select(0, 0)?.to_vec2::<f32>().unwrap_err();
    assert!(
        e.to_string()
            .contains("expected a 2-D tensor but got a 1-D tensor of shape [4]"),
        "{e}"
    );
    assert!(t.to_vec2::<i64>().is_err());
    Ok(())
}

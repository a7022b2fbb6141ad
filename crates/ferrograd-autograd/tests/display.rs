//! Printing: every expected string below is what PyTorch 2 prints for the
//! same tensor (`repr(t)` with default print options), built in Python with
//! the constructor named in each row.

use ferrograd_autograd::{tensor, DType, Tensor};

fn f64s(values: &[f64]) -> Tensor {
    Tensor::from_slice(values, &[values.len()]).unwrap()
}

/// `torch.arange(n, dtype=torch.float32)`.
fn float_range(n: usize) -> Tensor {
    Tensor::arange_dtype(0.0, n as f64, 1.0, DType::F32).unwrap()
}

#[test]
fn values_print_as_pytorch_prints_them() {
    let cases: Vec<(&str, Tensor, &str)> = vec![
        ("int_matrix", tensor![[1, 2, 3], [4, 5, 6]], "tensor([[1, 2, 3],\n        [4, 5, 6]])"),
        ("floats_4_decimals", tensor![1.0, 2.5], "tensor([1.0000, 2.5000])"),
        ("whole_floats", tensor![1.0, 2.0], "tensor([1., 2.])"),
        ("float64", f64s(&[1.0, 2.0]), "tensor([1., 2.], dtype=torch.float64)"),
        ("sci_ratio", tensor![1e5, 1.0], "tensor([1.0000e+05, 1.0000e+00])"),
        ("sci_small", tensor![1e-5, 1.0], "tensor([1.0000e-05, 1.0000e+00])"),
        ("sci_large", tensor![123456789.0, 1.5], "tensor([1.2346e+08, 1.5000e+00])"),
        ("scalar_float", Tensor::scalar(3.5f32), "tensor(3.5000)"),
        ("scalar_int", Tensor::scalar(7i64), "tensor(7)"),
        ("empty_2d", Tensor::zeros(&[0, 3], DType::F32).unwrap(), "tensor([], size=(0, 3))"),
        ("empty_int", Tensor::zeros(&[0], DType::I64).unwrap(), "tensor([], dtype=torch.int64)"),
        ("empty_3d_int", Tensor::zeros(&[2, 0, 3], DType::I64).unwrap(), "tensor([], size=(2, 0, 3), dtype=torch.int64)"),
        ("bools", tensor![true, false], "tensor([ True, False])"),
        ("int32", Tensor::from_vec(vec![1i32, -20, 300], &[3]).unwrap(), "tensor([  1, -20, 300], dtype=torch.int32)"),
        ("uint8", Tensor::from_vec(vec![1u8, 2, 255, 0], &[2, 2]).unwrap(), "tensor([[  1,   2],\n        [255,   0]], dtype=torch.uint8)"),
        ("nonfinite", tensor![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.5], "tensor([   nan,    inf,   -inf, 1.5000])"),
        ("nan_int_mode", tensor![f32::NAN, 1.0, 2.0], "tensor([nan, 1., 2.])"),
        ("zeros", Tensor::zeros(&[2], DType::F32).unwrap(), "tensor([0., 0.])"),
        ("negatives", tensor![-1.5, 2.25, 100.125], "tensor([ -1.5000,   2.2500, 100.1250])"),
        ("neg_zero", tensor![-0.0, 1.0], "tensor([-0., 1.])"),
        ("f64_values", f64s(&[0.1, 0.123456789, 12.5]), "tensor([ 0.1000,  0.1235, 12.5000], dtype=torch.float64)"),
        ("huge", tensor![1e20, -3e-7, 5.0], "tensor([ 1.0000e+20, -3.0000e-07,  5.0000e+00])"),
        ("ints_aligned", tensor![-100, 5, 20000], "tensor([ -100,     5, 20000])"),
        ("summarized_1d", Tensor::arange(0, 2000).unwrap(), "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
        ("summarized_2d", Tensor::arange(0, 2000).unwrap().reshape(&[40, 50]).unwrap(), "tensor([[   0,    1,    2,  ...,   47,   48,   49],\n        [  50,   51,   52,  ...,   97,   98,   99],\n        [ 100,  101,  102,  ...,  147,  148,  149],\n        ...,\n        [1850, 1851, 1852,  ..., 1897, 1898, 1899],\n        [1900, 1901, 1902,  ..., 1947, 1948, 1949],\n        [1950, 1951, 1952,  ..., 1997, 1998, 1999]])"),
        ("summarized_float_2d", (float_range(2000) / 7.0).reshape(&[40, 50]).unwrap(), "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 6.7143e+00, 6.8571e+00,\n         7.0000e+00],\n        [7.1429e+00, 7.2857e+00, 7.4286e+00,  ..., 1.3857e+01, 1.4000e+01,\n         1.4143e+01],\n        [1.4286e+01, 1.4429e+01, 1.4571e+01,  ..., 2.1000e+01, 2.1143e+01,\n         2.1286e+01],\n        ...,\n        [2.6429e+02, 2.6443e+02, 2.6457e+02,  ..., 2.7100e+02, 2.7114e+02,\n         2.7129e+02],\n        [2.7143e+02, 2.7157e+02, 2.7171e+02,  ..., 2.7814e+02, 2.7829e+02,\n         2.7843e+02],\n        [2.7857e+02, 2.7871e+02, 2.7886e+02,  ..., 2.8529e+02, 2.8543e+02,\n         2.8557e+02]])"),
        ("summarized_4d", Tensor::arange(0, 2400).unwrap().reshape(&[2, 3, 20, 20]).unwrap(), "tensor([[[[   0,    1,    2,  ...,   17,   18,   19],\n          [  20,   21,   22,  ...,   37,   38,   39],\n          [  40,   41,   42,  ...,   57,   58,   59],\n          ...,\n          [ 340,  341,  342,  ...,  357,  358,  359],\n          [ 360,  361,  362,  ...,  377,  378,  379],\n          [ 380,  381,  382,  ...,  397,  398,  399]],\n\n         [[ 400,  401,  402,  ...,  417,  418,  419],\n          [ 420,  421,  422,  ...,  437,  438,  439],\n          [ 440,  441,  442,  ...,  457,  458,  459],\n          ...,\n          [ 740,  741,  742,  ...,  757,  758,  759],\n          [ 760,  761,  762,  ...,  777,  778,  779],\n          [ 780,  781,  782,  ...,  797,  798,  799]],\n\n         [[ 800,  801,  802,  ...,  817,  818,  819],\n          [ 820,  821,  822,  ...,  837,  838,  839],\n          [ 840,  841,  842,  ...,  857,  858,  859],\n          ...,\n          [1140, 1141, 1142,  ..., 1157, 1158, 1159],\n          [1160, 1161, 1162,  ..., 1177, 1178, 1179],\n          [1180, 1181, 1182,  ..., 1197, 1198, 1199]]],\n\n\n        [[[1200, 1201, 1202,  ..., 1217, 1218, 1219],\n          [1220, 1221, 1222,  ..., 1237, 1238, 1239],\n          [1240, 1241, 1242,  ..., 1257, 1258, 1259],\n          ...,\n          [1540, 1541, 1542,  ..., 1557, 1558, 1559],\n          [1560, 1561, 1562,  ..., 1577, 1578, 1579],\n          [1580, 1581, 1582,  ..., 1597, 1598, 1599]],\n\n         [[1600, 1601, 1602,  ..., 1617, 1618, 1619],\n          [1620, 1621, 1622,  ..., 1637, 1638, 1639],\n          [1640, 1641, 1642,  ..., 1657, 1658, 1659],\n          ...,\n          [1940, 1941, 1942,  ..., 1957, 1958, 1959],\n          [1960, 1961, 1962,  ..., 1977, 1978, 1979],\n          [1980, 1981, 1982,  ..., 1997, 1998, 1999]],\n\n         [[2000, 2001, 2002,  ..., 2017, 2018, 2019],\n          [2020, 2021, 2022,  ..., 2037, 2038, 2039],\n          [2040, 2041, 2042,  ..., 2057, 2058, 2059],\n          ...,\n          [2340, 2341, 2342,  ..., 2357, 2358, 2359],\n          [2360, 2361, 2362,  ..., 2377, 2378, 2379],\n          [2380, 2381, 2382,  ..., 2397, 2398, 2399]]]])"),
        ("three_d", Tensor::arange(0, 12).unwrap().reshape(&[2, 2, 3]).unwrap(), "tensor([[[ 0,  1,  2],\n         [ 3,  4,  5]],\n\n        [[ 6,  7,  8],\n         [ 9, 10, 11]]])"),
        ("wrapped_ints", Tensor::arange(0, 100).unwrap(), "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n        36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,\n        54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,\n        72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,\n        90, 91, 92, 93, 94, 95, 96, 97, 98, 99])"),
        ("wrapped_floats", float_range(30) / 3.0, "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, 5.3333, 5.6667,\n        6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667,\n        9.0000, 9.3333, 9.6667])"),
        ("wrapped_2d", (float_range(40).double().unwrap() / 3.0).reshape(&[2, 20]).unwrap(), "tensor([[ 0.0000,  0.3333,  0.6667,  1.0000,  1.3333,  1.6667,  2.0000,  2.3333,\n          2.6667,  3.0000,  3.3333,  3.6667,  4.0000,  4.3333,  4.6667,  5.0000,\n          5.3333,  5.6667,  6.0000,  6.3333],\n        [ 6.6667,  7.0000,  7.3333,  7.6667,  8.0000,  8.3333,  8.6667,  9.0000,\n          9.3333,  9.6667, 10.0000, 10.3333, 10.6667, 11.0000, 11.3333, 11.6667,\n         12.0000, 12.3333, 12.6667, 13.0000]], dtype=torch.float64)"),
        ("transposed", tensor![[1, 2, 3], [4, 5, 6]].t().unwrap(), "tensor([[1, 4],\n        [2, 5],\n        [3, 6]])"),
        ("long_row_dtype_suffix", Tensor::arange(0, 20).unwrap().int().unwrap() * 1000, "tensor([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000,\n        10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000],\n       dtype=torch.int32)"),
        ("f64_one_line_suffix", float_range(12).double().unwrap() / 3.0, "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, 2.6667,\n        3.0000, 3.3333, 3.6667], dtype=torch.float64)"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(_, t, want)| t.to_string() != *want)
        .map(|(name, t, want)| format!("{name}:\n got: {t}\nwant: {want}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn autograd_suffixes() {
    let x = tensor![1.0, 2.0].requires_grad_(true).unwrap();
    assert_eq!(x.to_string(), "tensor([1., 2.], requires_grad=True)");
    let y = &x * 2.0;
    assert_eq!(y.to_string(), "tensor([2., 4.], grad_fn=<MulBackward0>)");
    assert_eq!(
        y.sum().unwrap().to_string(),
        "tensor(6., grad_fn=<SumBackward0>)"
    );
    let s = Tensor::scalar(2.0f32).requires_grad_(true).unwrap();
    assert_eq!(s.to_string(), "tensor(2., requires_grad=True)");
    assert_eq!(x.detach().to_string(), "tensor([1., 2.])");
}

#[test]
fn suffixes_wrap_after_a_long_last_line() {
    let y = float_range(24)
        .double()
        .unwrap()
        .reshape(&[2, 12])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    assert_eq!((&y / 7.0).to_string(), "tensor([[0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n         1.2857, 1.4286, 1.5714],\n        [1.7143, 1.8571, 2.0000, 2.1429, 2.2857, 2.4286, 2.5714, 2.7143, 2.8571,\n         3.0000, 3.1429, 3.2857]], dtype=torch.float64, grad_fn=<DivBackward0>)");
}

#[test]
fn a_format_precision_replaces_the_four_decimals() {
    // torch.set_printoptions(precision=2)
    let third = 1.0f32 / 3.0;
    assert_eq!(
        format!("{:.2}", tensor![1.0, 2.5, third]),
        "tensor([1.00, 2.50, 0.33])"
    );
    assert_eq!(
        format!("{:.2}", tensor![1e-6, third]),
        "tensor([1.00e-06, 3.33e-01])"
    );
}

#[test]
fn debug_prints_the_same_text() {
    let t = tensor![[1.5, 2.0], [3.0, 4.0]];
    assert_eq!(format!("{t:?}"), t.to_string());
    assert_eq!(format!("{:?}", vec![tensor![1]]), "[tensor([1])]");
}

#[test]
fn strided_views_print_their_logical_order() {
    let flipped = Tensor::arange(0, 6)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap()
        .flip(&[0, 1])
        .unwrap();
    assert_eq!(
        flipped.to_string(),
        tensor![[5, 4, 3], [2, 1, 0]].to_string()
    );
    let column = Tensor::arange(0, 12)
        .unwrap()
        .reshape(&[3, 4])
        .unwrap()
        .select(1, 1)
        .unwrap();
    assert_eq!(column.to_string(), "tensor([1, 5, 9])");
    let big = Tensor::arange(0, 2000).unwrap().reshape(&[40, 50]).unwrap();
    assert_eq!(
        big.t().unwrap().contiguous().unwrap().to_string(),
        big.t().unwrap().to_string()
    );
}

#[test]
fn a_tensor_whose_storage_is_borrowed_still_prints() {
    let t = tensor![1.0, 2.0];
    let _writer = t.storage().write().unwrap();
    let text = t.to_string();
    assert!(
        text.starts_with("tensor([<cannot read the values: "),
        "{text}"
    );
}

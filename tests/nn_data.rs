//! Data loading: DataLoader order, coverage, drop_last and the background
//! thread; MNIST IDX files written here byte by byte; SyntheticShapes
//! determinism, balance and range.

use ferrograd::nn::data::{
    read_idx, DataLoader, DataLoaderConfig, Dataset, Mnist, SyntheticShapes, TensorDataset,
};
use ferrograd::prelude::*;
use std::path::{Path, PathBuf};

/// `n` samples: input row `i` is `[2i, 2i + 1]` (f32), target `i` (i64).
fn numbered(n: usize) -> TensorDataset {
    let x: Vec<f32> = (0..2 * n).map(|v| v as f32).collect();
    let y: Vec<i64> = (0..n as i64).collect();
    TensorDataset::new(
        Tensor::from_vec(x, &[n, 2]).unwrap(),
        Tensor::from_vec(y, &[n]).unwrap(),
    )
    .unwrap()
}

fn loader(n: usize, config: DataLoaderConfig) -> DataLoader<TensorDataset> {
    DataLoader::new(numbered(n), config).unwrap()
}

/// The targets of each batch of one epoch, checking every input row against its target.
fn epoch_targets(batches: impl Iterator<Item = Result<(Tensor, Tensor)>>) -> Vec<Vec<i64>> {
    batches
        .map(|b| {
            let (x, y) = b.unwrap();
            let y = y.to_vec::<i64>().unwrap();
            let expected_x: Vec<f32> = y
                .iter()
                .flat_map(|&i| [2.0 * i as f32, 2.0 * i as f32 + 1.0])
                .collect();
            assert_eq!(x.shape(), &[y.len(), 2]);
            assert_eq!(x.to_vec::<f32>().unwrap(), expected_x);
            y
        })
        .collect()
}

#[test]
fn every_index_once_per_epoch_and_epochs_differ() {
    let l = loader(
        103,
        DataLoaderConfig::new().batch_size(10).shuffle(true).seed(5),
    );
    assert_eq!(l.len(), 11);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        let batches = epoch_targets(l.iter());
        assert_eq!(batches.len(), 11);
        assert!(batches[..10].iter().all(|b| b.len() == 10));
        assert_eq!(batches[10].len(), 3);
        let order: Vec<i64> = batches.concat();
        assert_eq!(
            order,
            l.epoch_indices(epoch)
                .iter()
                .map(|&i| i as i64)
                .collect::<Vec<_>>()
        );
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..103).collect::<Vec<i64>>());
        assert_ne!(order, sorted, "epoch {epoch} was not shuffled");
        orders.push(order);
    }
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
}

#[test]
fn same_seed_same_orders_other_seed_other_orders() {
    let config = DataLoaderConfig::new().batch_size(7).shuffle(true).seed(11);
    let (a, b) = (loader(50, config), loader(50, config));
    let c = loader(50, config.seed(12));
    for _ in 0..3 {
        let (ta, tb, tc) = (
            epoch_targets(a.iter()),
            epoch_targets(b.iter()),
            epoch_targets(c.iter()),
        );
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
    }
    b.set_epoch(1);
    assert_eq!(
        epoch_targets(b.iter()).concat(),
        epoch_targets(a.iter_epoch(1)).concat()
    );
    assert_eq!(a.epoch(), 3);
}

#[test]
fn unseeded_shuffle_follows_manual_seed() {
    let config = DataLoaderConfig::new().batch_size(4).shuffle(true);
    manual_seed(99);
    let a = loader(30, config);
    manual_seed(99);
    let b = loader(30, config);
    assert_eq!(a.seed(), b.seed());
    assert_eq!(epoch_targets(a.iter()), epoch_targets(b.iter()));
}

#[test]
fn without_shuffle_the_order_is_sequential() {
    let l = loader(10, DataLoaderConfig::new().batch_size(4));
    assert_eq!(
        epoch_targets(l.iter()),
        vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
    );
    assert_eq!(
        epoch_targets(l.iter()).concat(),
        (0..10).collect::<Vec<i64>>()
    );
}

#[test]
fn drop_last_drops_the_short_batch_only() {
    for (n, bs, drop_last, sizes) in [
        (10, 3, true, vec![3, 3, 3]),
        (10, 3, false, vec![3, 3, 3, 1]),
        (9, 3, true, vec![3, 3, 3]),
        (2, 3, true, vec![]),
        (2, 3, false, vec![2]),
        (0, 3, false, vec![]),
    ] {
        let l = loader(
            n,
            DataLoaderConfig::new()
                .batch_size(bs)
                .drop_last(drop_last)
                .shuffle(n > 0)
                .seed(1),
        );
        let got: Vec<usize> = epoch_targets(l.iter()).iter().map(Vec::len).collect();
        assert_eq!(got, sizes, "n={n} bs={bs} drop_last={drop_last}");
        assert_eq!(l.len(), sizes.len());
        assert_eq!(l.is_empty(), sizes.is_empty());
    }
}

#[test]
fn background_batches_equal_inline_batches() {
    let config = DataLoaderConfig::new().batch_size(6).shuffle(true).seed(3);
    let inline = loader(40, config.prefetch(0));
    for prefetch in [1, 2, 5] {
        let background = loader(40, config.prefetch(prefetch));
        for epoch in 0..2 {
            assert_eq!(
                epoch_targets(background.iter_epoch(epoch)),
                epoch_targets(inline.iter_epoch(epoch))
            );
        }
    }
}

#[test]
fn dropping_an_epoch_early_stops_the_thread() {
    let l = loader(1000, DataLoaderConfig::new().batch_size(1).prefetch(2));
    let mut batches = l.iter();
    assert_eq!(batches.len(), 1000);
    batches.next().unwrap().unwrap();
    assert_eq!(batches.len(), 999);
    drop(batches);
    assert_eq!(epoch_targets(l.iter()).len(), 1000);
}

#[test]
fn synthetic_batches_have_image_shapes_and_dtypes() {
    let l = DataLoader::new(
        SyntheticShapes::generate(25, 0).unwrap(),
        DataLoaderConfig::new().batch_size(8).shuffle(true).seed(0),
    )
    .unwrap();
    let sizes: Vec<usize> = l
        .iter()
        .map(|b| {
            let (x, y) = b.unwrap();
            assert_eq!((x.dtype(), y.dtype()), (DType::F32, DType::I64));
            assert_eq!(&x.shape()[1..], &[1, 28, 28]);
            assert!(x.is_contiguous() && !x.requires_grad());
            assert_eq!(y.shape(), &x.shape()[..1]);
            x.shape()[0]
        })
        .collect();
    assert_eq!(sizes, vec![8, 8, 8, 1]);
}

/// Samples `(i, i * 10)` as a 1-element input and a scalar target; sample 13 fails.
struct Custom;

impl Dataset for Custom {
    fn len(&self) -> usize {
        20
    }
    fn get(&self, index: usize) -> Result<(Tensor, Tensor)> {
        if index == 13 {
            return Err(Error::invalid("Custom", "sample 13 is unreadable"));
        }
        Ok((
            Tensor::from_vec(vec![index as f64], &[1])?,
            Tensor::scalar(index as i64 * 10),
        ))
    }
}

#[test]
fn default_collation_stacks_samples_and_passes_errors_on() {
    let (x, y) = Custom.get_batch(&[4, 0, 7]).unwrap();
    assert_eq!(x.shape(), &[3, 1]);
    assert_eq!(x.to_vec::<f64>().unwrap(), vec![4.0, 0.0, 7.0]);
    assert_eq!(y.to_vec::<i64>().unwrap(), vec![40, 0, 70]);
    for prefetch in [0, 2] {
        let l = DataLoader::new(
            Custom,
            DataLoaderConfig::new().batch_size(5).prefetch(prefetch),
        )
        .unwrap();
        let results: Vec<_> = l.iter().collect();
        assert_eq!(results.len(), 4);
        assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
        let e = results[2].as_ref().unwrap_err().to_string();
        assert!(e.contains("sample 13 is unreadable"), "{e}");
    }
}

#[test]
fn bad_arguments_are_errors_with_pytorch_messages() {
    let e = DataLoader::new(numbered(5), DataLoaderConfig::new().batch_size(0))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("batch_size should be a positive integer value, but got batch_size=0"),
        "{e}"
    );
    let e = DataLoader::new(numbered(0), DataLoaderConfig::new().shuffle(true))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("num_samples should be a positive integer value, but got num_samples=0"),
        "{e}"
    );
    let e = numbered(5).get(5).unwrap_err().to_string();
    assert_eq!(e, "index 5 is out of bounds for dimension 0 with size 5");
    assert!(numbered(5).get_batch(&[1, 9]).is_err());
    let e = TensorDataset::new(
        Tensor::zeros(&[3, 2], DType::F32).unwrap(),
        Tensor::zeros(&[2], DType::I64).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Size mismatch between tensors"), "{e}");
    assert!(TensorDataset::new(Tensor::scalar(1.0f32), Tensor::scalar(1i64)).is_err());
}

#[test]
fn tensor_dataset_reads_views_and_detaches() {
    let base = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[4, 3])
        .unwrap()
        .requires_grad_(true)
        .unwrap();
    let transposed = base.transpose(0, 1).unwrap();
    let ds = TensorDataset::new(
        transposed,
        Tensor::from_vec(vec![0i64, 1, 2], &[3]).unwrap(),
    )
    .unwrap();
    let (x, _) = ds.get_batch(&[2, 0]).unwrap();
    assert_eq!(
        x.to_vec::<f32>().unwrap(),
        vec![2.0, 5.0, 8.0, 11.0, 0.0, 3.0, 6.0, 9.0]
    );
    assert!(!x.requires_grad());
    let (row, target) = ds.get(1).unwrap();
    assert_eq!((row.shape(), target.shape()), (&[4][..], &[][..]));
    assert_eq!(row.to_vec::<f32>().unwrap(), vec![1.0, 4.0, 7.0, 10.0]);
}

// ---------------------------------------------------------------- IDX files

/// An IDX file of bytes: magic `00 00 08 ndim`, big-endian dims, data.
fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// CRC-32 (IEEE), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A gzip member holding `data` in one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrograd_nn_data_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Three 4×5 images with pixel `(k * 20 + i) * 4 % 256`, labels 7, 0, 3.
fn write_split(dir: &Path, prefix: &str, gz: bool) -> Vec<u8> {
    let pixels: Vec<u8> = (0..60u32).map(|i| ((i * 4) % 256) as u8).collect();
    let files = [
        (
            format!("{prefix}-images-idx3-ubyte"),
            idx_bytes(&[3, 4, 5], &pixels),
        ),
        (
            format!("{prefix}-labels-idx1-ubyte"),
            idx_bytes(&[3], &[7, 0, 3]),
        ),
    ];
    for (name, bytes) in files {
        if gz {
            std::fs::write(dir.join(format!("{name}.gz")), gzip_stored(&bytes)).unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    pixels
}

#[test]
fn mnist_round_trip_plain_gzipped_and_torchvision_layout() {
    let dir = scratch_dir("round_trip");
    let train_pixels = write_split(&dir, "train", false);
    let raw = dir.join("MNIST").join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let test_pixels = write_split(&raw, "t10k", true);
    for (train, pixels) in [(true, train_pixels), (false, test_pixels)] {
        let ds = Mnist::load(&dir, train).unwrap();
        assert_eq!(ds.inputs().shape(), &[3, 1, 4, 5]);
        assert_eq!(ds.inputs().dtype(), DType::F32);
        let expected: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
        assert_eq!(ds.inputs().to_vec::<f32>().unwrap(), expected);
        assert_eq!(ds.targets().to_vec::<i64>().unwrap(), vec![7, 0, 3]);
        let norm = Mnist::load_normalized(&dir, train)
            .unwrap()
            .inputs()
            .to_vec::<f32>()
            .unwrap();
        for (n, p) in norm.iter().zip(&expected) {
            assert!((n - (p - 0.1307) / 0.3081).abs() < 1e-6);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mnist_missing_files_name_every_path_tried() {
    let dir = scratch_dir("missing");
    let e = Mnist::load(dir.join("absent"), true)
        .unwrap_err()
        .to_string();
    for path in [
        "absent/train-images-idx3-ubyte",
        "absent/train-images-idx3-ubyte.gz",
        "absent/MNIST/raw/train-images-idx3-ubyte.gz",
    ] {
        assert!(e.contains(path), "{path} not in: {e}");
    }
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_bytes(&[1, 2, 2], &[0; 4]),
    )
    .unwrap();
    let e = Mnist::load(&dir, false).unwrap_err().to_string();
    assert!(e.contains("t10k-labels-idx1-ubyte.gz"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_idx_files_are_errors() {
    let dir = scratch_dir("malformed");
    let cases: [(&str, Vec<u8>, &str); 6] = [
        (
            "magic",
            vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0],
            "bad magic number",
        ),
        ("short", vec![0, 0], "fewer than the 4-byte magic"),
        ("header", vec![0, 0, 8, 3, 0, 0, 0, 2], "truncated header"),
        ("data", idx_bytes(&[2, 3], &[1, 2, 3, 4, 5]), "truncated"),
        ("trailing", idx_bytes(&[2], &[1, 2, 3]), "trailing bytes"),
        ("gzip", vec![0x1f, 0x8b, 8, 0, 1, 2], "decompressing"),
    ];
    for (name, bytes, message) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = read_idx(&path).unwrap_err().to_string();
        assert!(e.contains(message), "{name}: {e}");
        assert!(e.contains(name), "{name}: the path is missing from {e}");
    }
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        idx_bytes(&[2, 2, 2], &[0; 8]),
    )
    .unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_bytes(&[3], &[0; 3]),
    )
    .unwrap();
    let e = Mnist::load(&dir, true).unwrap_err().to_string();
    assert!(
        e.contains("holds 2 images but train-labels-idx1-ubyte holds 3 labels"),
        "{e}"
    );
    std::fs::write(
        dir.join("train-labels-idx1-ubyte"),
        idx_bytes(&[2, 1], &[0; 2]),
    )
    .unwrap();
    let e = Mnist::load(&dir, true).unwrap_err().to_string();
    assert!(e.contains("labels 1"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// --------------------------------------------------------- SyntheticShapes

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn synthetic_same_seed_same_bytes_other_seed_differs() {
    let a = SyntheticShapes::new(150, 30, 9).unwrap();
    let b = SyntheticShapes::new(150, 30, 9).unwrap();
    let c = SyntheticShapes::new(150, 30, 10).unwrap();
    assert_eq!(bits(a.train().inputs()), bits(b.train().inputs()));
    assert_eq!(bits(a.test().inputs()), bits(b.test().inputs()));
    assert_ne!(bits(a.train().inputs()), bits(c.train().inputs()));
    assert_ne!(bits(a.test().inputs()), bits(c.test().inputs()));
    assert_ne!(
        bits(a.train().inputs())[..30 * 784],
        bits(a.test().inputs())[..]
    );
    // A shorter split is a prefix of a longer one (across a chunk boundary).
    let short = SyntheticShapes::generate(70, 9).unwrap();
    assert_eq!(
        bits(short.inputs())[..],
        bits(a.train().inputs())[..70 * 784]
    );
}

#[test]
fn synthetic_classes_are_balanced_and_values_in_range() {
    let ds = SyntheticShapes::generate(205, 4).unwrap();
    let labels = ds.targets().to_vec::<i64>().unwrap();
    assert_eq!(labels, (0..205).map(|i| i % 10).collect::<Vec<i64>>());
    let mut counts = [0; 10];
    labels.iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [21, 21, 21, 21, 21, 20, 20, 20, 20, 20]);
    let x = ds.inputs().to_vec::<f32>().unwrap();
    assert!(x.iter().all(|p| (0.0..=1.0).contains(p)));
    for (i, img) in x.chunks(784).enumerate() {
        let max = img.iter().cloned().fold(0.0, f32::max);
        assert!(max > 0.5, "image {i} has no ink (max {max})");
        assert!(
            img.iter().filter(|&&p| p < 0.3).count() > 300,
            "image {i} is mostly ink"
        );
    }
}

#[test]
fn synthetic_filled_shapes_carry_more_ink_than_their_outlines() {
    let ds = SyntheticShapes::generate(400, 2).unwrap();
    let x = ds.inputs().to_vec::<f32>().unwrap();
    let mut ink = [0.0f64; 10];
    for (i, img) in x.chunks(784).enumerate() {
        ink[i % 10] += img.iter().map(|&p| p as f64).sum::<f64>();
    }
    let (ring, disk, square, filled, line) = (ink[0], ink[1], ink[2], ink[3], ink[9]);
    assert!(disk > 1.5 * ring, "disk {disk} vs ring {ring}");
    assert!(
        filled > 1.5 * square,
        "filled square {filled} vs square {square}"
    );
    assert!(
        line < ring && line < square,
        "a line has the least ink: {ink:?}"
    );
    assert_eq!(SyntheticShapes::CLASSES[0], "ring");
    assert_eq!(SyntheticShapes::CLASSES[9], "line");
}

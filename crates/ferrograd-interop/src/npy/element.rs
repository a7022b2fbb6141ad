//! [`NpyElement`]: how each tensor element type meets raw file bytes — viewed
//! as bytes for writing, filled from a reader straight into its final vector
//! for reading, and byte-swapped in place when the file's order is not ours.

use bytemuck::Pod;
use ferrograd_storage::Element;
use std::io::{self, Read};

/// Bytes of the first read while the reader's length is unknown; each later
/// read at most doubles what arrived, so a header that lies about its size
/// cannot make us allocate what it claims.
const FIRST_CHUNK_BYTES: usize = 1 << 20;

/// An element type with a fixed byte representation in `.npy` files.
pub(crate) trait NpyElement: Element {
    /// The elements' memory as bytes (native order).
    fn as_bytes(data: &[Self]) -> &[u8];
    /// Reverses the bytes of every element (big- to little-endian or back).
    fn swap_in_place(data: &mut [Self]);
    /// Reads `numel` elements in native order. With `trusted` the caller
    /// checked the bytes are there and the vector is allocated at once;
    /// otherwise it grows with the data that actually arrives.
    fn read_vec(reader: &mut impl Read, numel: usize, trusted: bool) -> io::Result<Vec<Self>>;
}

/// Reads into a zeroed vector: allocated whole when trusted (zeroed pages
/// come lazily from the OS, huge ones for large buffers, so this costs no
/// extra pass), in geometrically growing steps otherwise.
fn read_pod_vec<T: Pod + Default>(
    reader: &mut impl Read,
    numel: usize,
    trusted: bool,
) -> io::Result<Vec<T>> {
    if trusted {
        let mut out = vec![T::zeroed(); numel];
        let bytes = bytemuck::cast_slice_mut(&mut out);
        ferrograd_storage::cpu::advise_huge_pages(bytes.as_ptr() as usize, bytes.len());
        reader.read_exact(bytes)?;
        return Ok(out);
    }
    let first = FIRST_CHUNK_BYTES / std::mem::size_of::<T>();
    let mut out: Vec<T> = Vec::new();
    while out.len() < numel {
        let start = out.len();
        let step = (numel - start).min(start.max(first));
        out.resize(start + step, T::zeroed());
        reader.read_exact(bytemuck::cast_slice_mut(&mut out[start..]))?;
    }
    Ok(out)
}

macro_rules! pod_element {
    ($t:ty, $bits:ty) => {
        impl NpyElement for $t {
            fn as_bytes(data: &[Self]) -> &[u8] {
                bytemuck::cast_slice(data)
            }
            fn swap_in_place(data: &mut [Self]) {
                for x in bytemuck::cast_slice_mut::<$t, $bits>(data) {
                    *x = x.swap_bytes();
                }
            }
            fn read_vec(
                reader: &mut impl Read,
                numel: usize,
                trusted: bool,
            ) -> io::Result<Vec<Self>> {
                read_pod_vec(reader, numel, trusted)
            }
        }
    };
}

pod_element!(f32, u32);
pod_element!(f64, u64);
pod_element!(i64, u64);
pod_element!(i32, u32);
pod_element!(u8, u8);

impl NpyElement for bool {
    fn as_bytes(data: &[Self]) -> &[u8] {
        bytemuck::cast_slice(data)
    }
    fn swap_in_place(_: &mut [Self]) {}
    /// Any non-zero byte reads as `true`, as NumPy treats it.
    fn read_vec(reader: &mut impl Read, numel: usize, trusted: bool) -> io::Result<Vec<Self>> {
        let bytes = read_pod_vec::<u8>(reader, numel, trusted)?;
        // Collects in place: u8 and bool share size and alignment.
        Ok(bytes.into_iter().map(|b| b != 0).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_reads_grow_with_the_data() {
        let data: Vec<u8> = (0..3_000_000u32).flat_map(|i| i.to_ne_bytes()).collect();
        let got = i32::read_vec(&mut &data[..], 3_000_000, false).unwrap();
        assert!(got.iter().enumerate().all(|(i, &v)| v == i as i32));
        // A claim far beyond the data fails at the end of the data, having
        // allocated about twice what arrived rather than what was claimed.
        let err = i32::read_vec(&mut &data[..], 1 << 40, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn bools_read_any_nonzero_byte_as_true() {
        let got = bool::read_vec(&mut &[0u8, 1, 2, 255][..], 4, true).unwrap();
        assert_eq!(got, vec![false, true, true, true]);
    }

    #[test]
    fn swapping_reverses_each_element() {
        let mut v = vec![1.0f64];
        f64::swap_in_place(&mut v);
        assert_eq!(v[0].to_bits(), 1.0f64.to_bits().swap_bytes());
    }
}

//! Writing a tensor's elements in file order: straight from the tensor's
//! memory when it is already laid out that way, otherwise gathered in
//! bounded blocks (any strides, negative ones included) so memory use stays
//! small whatever the tensor's size.

use super::element::NpyElement;
use ferrograd_storage::{cpu::gather_contiguous, Layout};
use std::io::{self, Write};

/// Bytes gathered per block when the elements must be copied.
const BLOCK_BYTES: usize = 1 << 20;

/// Writes the elements of `layout` over `data` in row-major order of
/// `layout`, byte-swapped when `swap`.
pub(crate) fn write_data<T: NpyElement>(
    writer: &mut impl Write,
    data: &[T],
    layout: &Layout,
    swap: bool,
) -> io::Result<()> {
    let numel = layout.numel();
    if numel == 0 {
        return Ok(());
    }
    match layout.contiguous_offset() {
        Some(start) if !swap => writer.write_all(T::as_bytes(&data[start..start + numel])),
        _ => write_blocks(
            writer,
            data,
            layout,
            swap,
            (BLOCK_BYTES / size_of::<T>()).max(1),
        ),
    }
}

/// Splits `layout` along its leading dims into blocks of at most `max`
/// elements, gathering and writing each in turn.
fn write_blocks<T: NpyElement>(
    writer: &mut impl Write,
    data: &[T],
    layout: &Layout,
    swap: bool,
    max: usize,
) -> io::Result<()> {
    let numel = layout.numel();
    if numel <= max || layout.ndim() == 0 {
        let mut block = gather_contiguous(data, layout);
        if swap {
            T::swap_in_place(&mut block);
        }
        return writer.write_all(T::as_bytes(&block));
    }
    let rows = layout.shape()[0];
    let per_row = numel / rows;
    let step = (max / per_row).max(1);
    for start in (0..rows).step_by(step) {
        let block = if per_row <= max {
            layout.narrow(0, start, step.min(rows - start))
        } else {
            layout.select(0, start as isize)
        };
        write_blocks(writer, data, &block.map_err(io::Error::other)?, swap, max)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(data: &[i32], layout: &Layout, max: usize) -> Vec<i32> {
        let mut out = Vec::new();
        write_blocks(&mut out, data, layout, false, max).unwrap();
        out.chunks_exact(4)
            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn blocks_visit_elements_in_row_major_order() {
        let data: Vec<i32> = (0..120).collect();
        let base = Layout::contiguous(&[4, 5, 6]);
        let layouts = [
            base.clone(),
            base.permute(&[2, 0, 1]).unwrap(),
            base.flip(&[0, 2]),
            base.slice(1, None, None, -2).unwrap(),
        ];
        for layout in &layouts {
            let mut want = Vec::new();
            layout.for_each_offset(|o| want.push(data[o]));
            for max in [1, 5, 7, 29, 30, 1000] {
                assert_eq!(written(&data, layout, max), want, "{layout:?} max {max}");
            }
        }
    }
}

//! [`CpuBuffer`]: one typed vector of host memory, the unit that tensor
//! storages share, and the [`dispatch!`](crate::with_buffer) macro that maps a
//! buffer onto a generic kernel.

use crate::{DType, Element};

/// A typed, contiguous block of host memory.
///
/// ```
/// use ferrograd_storage::{CpuBuffer, DType};
/// let b = CpuBuffer::F64(vec![1.0, 2.0, 3.0]);
/// assert_eq!((b.dtype(), b.len()), (DType::F64, 3));
/// assert_eq!(b.as_slice::<f64>(), Some(&[1.0, 2.0, 3.0][..]));
/// assert_eq!(b.as_slice::<f32>(), None); // typed access checks the element type
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum CpuBuffer {
    /// `float32` elements.
    F32(Vec<f32>),
    /// `float64` elements.
    F64(Vec<f64>),
    /// `int64` elements.
    I64(Vec<i64>),
    /// `int32` elements.
    I32(Vec<i32>),
    /// `uint8` elements.
    U8(Vec<u8>),
    /// `bool` elements.
    Bool(Vec<bool>),
}

/// Runs `$body` with `$v` bound to the buffer's typed vector (by reference) and
/// `$T` to its element type. The way every kernel is written once and
/// dispatched over dtypes.
///
/// ```
/// use ferrograd_storage::{with_buffer, CpuBuffer, Element};
/// let b = CpuBuffer::I32(vec![1, 2, 3]);
/// let total: f64 = with_buffer!(&b, v, T => v.iter().map(|x| x.to_f64()).sum());
/// assert_eq!(total, 6.0);
/// ```
#[macro_export]
macro_rules! with_buffer {
    ($buffer:expr, $v:ident, $T:ident => $body:expr) => {
        match $buffer {
            $crate::CpuBuffer::F32($v) => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            $crate::CpuBuffer::F64($v) => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
            $crate::CpuBuffer::I64($v) => {
                #[allow(dead_code)]
                type $T = i64;
                $body
            }
            $crate::CpuBuffer::I32($v) => {
                #[allow(dead_code)]
                type $T = i32;
                $body
            }
            $crate::CpuBuffer::U8($v) => {
                #[allow(dead_code)]
                type $T = u8;
                $body
            }
            $crate::CpuBuffer::Bool($v) => {
                #[allow(dead_code)]
                type $T = bool;
                $body
            }
        }
    };
}

/// Runs `$body` with `$T` bound to the Rust type of a [`DType`] value.
///
/// ```
/// use ferrograd_storage::{with_dtype, DType, Element};
/// let size = with_dtype!(DType::F64, T => std::mem::size_of::<T>());
/// assert_eq!(size, 8);
/// ```
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}

impl CpuBuffer {
    /// The element type held.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType};
    /// assert_eq!(CpuBuffer::U8(vec![1, 2]).dtype(), DType::U8);
    /// assert_eq!(CpuBuffer::zeros(DType::Bool, 2).dtype(), DType::Bool);
    /// ```
    pub fn dtype(&self) -> DType {
        with_buffer!(self, _v, T => T::DTYPE)
    }

    /// Number of elements held.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType};
    /// assert_eq!(CpuBuffer::I32(vec![1, 2, 3]).len(), 3);
    /// assert_eq!(CpuBuffer::zeros(DType::F64, 5).len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        with_buffer!(self, v, T => v.len())
    }

    /// True when no element is held.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType};
    /// assert!(CpuBuffer::Bool(vec![]).is_empty());
    /// assert!(!CpuBuffer::zeros(DType::F32, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A buffer of `len` zero (or `false`) elements. Uses the allocator's zeroed
    /// pages, which the OS maps lazily, so large buffers cost no writes.
    ///
    /// ```
    /// use ferrograd_storage::{CpuBuffer, DType};
    /// assert_eq!(CpuBuffer::zeros(DType::I64, 3), CpuBuffer::I64(vec![0, 0, 0]));
    /// assert_eq!(CpuBuffer::zeros(DType::Bool, 2), CpuBuffer::Bool(vec![false, false]));
    /// assert!(CpuBuffer::zeros(DType::F32, 0).is_empty());
    /// ```
    pub fn zeros(dtype: DType, len: usize) -> Self {
        // calloc maps large zeroed buffers without touching them, so the
        // huge-page advice still applies to their first faults.
        with_dtype!(dtype, T => {
            let zeros = vec![T::default(); len];
            crate::cpu::advise_huge_pages(zeros.as_ptr() as usize, len * std::mem::size_of::<T>());
            T::into_buffer(zeros)
        })
    }

    /// Typed view of the data, `None` if `T` is not the element type.
    ///
    /// ```
    /// use ferrograd_storage::CpuBuffer;
    /// let b = CpuBuffer::I32(vec![4, 5]);
    /// assert_eq!(b.as_slice::<i32>(), Some(&[4, 5][..]));
    /// assert!(b.as_slice::<i64>().is_none());
    /// ```
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::slice(self)
    }

    /// Typed mutable view of the data, `None` if `T` is not the element type.
    ///
    /// ```
    /// use ferrograd_storage::CpuBuffer;
    /// let mut b = CpuBuffer::F32(vec![1.0, 2.0]);
    /// b.as_mut_slice::<f32>().unwrap()[1] = 8.0;
    /// assert_eq!(b, CpuBuffer::F32(vec![1.0, 8.0]));
    /// assert!(b.as_mut_slice::<u8>().is_none());
    /// ```
    pub fn as_mut_slice<T: Element>(&mut self) -> Option<&mut [T]> {
        T::vec_mut(self).map(|v| v.as_mut_slice())
    }

    /// Raw address of the first element (for aliasing checks and zero-copy views).
    ///
    /// ```
    /// use ferrograd_storage::CpuBuffer;
    /// let b = CpuBuffer::F32(vec![1.0, 2.0]);
    /// assert_eq!(b.as_ptr(), b.as_slice::<f32>().unwrap().as_ptr().cast::<u8>());
    /// assert_ne!(b.clone().as_ptr(), b.as_ptr()); // a clone is a new allocation
    /// ```
    pub fn as_ptr(&self) -> *const u8 {
        with_buffer!(self, v, T => v.as_ptr().cast::<u8>())
    }
}

/// Like [`with_dtype!`](crate::with_dtype) but binds `$T` only for the numeric
/// dtypes (so the body may use [`NumElement`](crate::NumElement) arithmetic)
/// and runs `$bool_body` for `bool`.
///
/// ```
/// use ferrograd_storage::{with_num_dtype, DType};
/// let zero = with_num_dtype!(DType::I32, T => (T::default() as f64), bool => -1.0);
/// assert_eq!(zero, 0.0);
/// ```
#[macro_export]
macro_rules! with_num_dtype {
    ($dtype:expr, $T:ident => $body:expr, bool => $bool_body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => $bool_body,
        }
    };
}

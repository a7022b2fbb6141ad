//! Fuzzes the `.npy` header parser and the reader behind it: any bytes must
//! give `Ok` or `Err`, never a panic, a hang or an allocation sized by the
//! header's claims; a header that parses must format back to one that
//! parses to the same thing.
#![no_main]

use ferrograd_interop::npy::{read_npy, NpyHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, offset)) = NpyHeader::parse(data) {
        assert!(offset <= data.len());
        let mut again = header.clone();
        again.version = None;
        let bytes = again.to_bytes().expect("a parsed header formats");
        let (back, _) = NpyHeader::parse(&bytes).expect("a formatted header parses");
        assert_eq!(
            (back.dtype, back.endian, back.fortran_order),
            (header.dtype, header.endian, header.fortran_order)
        );
        assert_eq!(back.shape, header.shape);
    }
    let _ = read_npy(data);
});

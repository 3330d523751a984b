//! Fuzz target `ucx_line`: see [`ncclscope_fuzz::ucx_line`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::ucx_line(data));

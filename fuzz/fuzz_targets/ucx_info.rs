//! Fuzz target `ucx_info`: see [`ncclscope_fuzz::ucx_info`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::ucx_info(data));

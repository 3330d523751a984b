//! Fuzz target `nccl_line`: see [`ncclscope_fuzz::nccl_line`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::nccl_line(data));

//! Fuzz target `nccltests_line`: see [`ncclscope_fuzz::nccltests_line`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::nccltests_line(data));

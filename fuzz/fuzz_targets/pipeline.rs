//! Fuzz target `pipeline`: see [`ncclscope_fuzz::pipeline`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::pipeline(data));

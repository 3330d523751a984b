//! Fuzz target `smi`: see [`ncclscope_fuzz::smi`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::smi(data));

//! Fuzz target `topo_xml`: see [`ncclscope_fuzz::topo_xml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ncclscope_fuzz::topo_xml(data));

#![no_main]
// The body is trent::fuzzing::init_file: the stable bounded run in tests/fuzz.rs drives the same function.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trent::fuzzing::init_file(data));

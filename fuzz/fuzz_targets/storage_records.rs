#![no_main]
// The body is trent::fuzzing::storage_records: the stable bounded run in tests/fuzz.rs drives the same function.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trent::fuzzing::storage_records(data));

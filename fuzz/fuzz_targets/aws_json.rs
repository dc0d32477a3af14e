#![no_main]
// The body is trent::fuzzing::aws_json: the stable bounded run in tests/fuzz.rs drives the same function.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trent::fuzzing::aws_json(data));

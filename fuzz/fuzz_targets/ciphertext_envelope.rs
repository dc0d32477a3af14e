#![no_main]
// The body is trent::fuzzing::ciphertext_envelope: the stable bounded run in tests/fuzz.rs drives the same function.
libfuzzer_sys::fuzz_target!(|data: &[u8]| trent::fuzzing::ciphertext_envelope(data));

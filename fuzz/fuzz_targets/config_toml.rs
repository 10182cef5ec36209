//! The TOML configuration file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = bridge::Config::from_toml_str(s, &bridge::ConfigTypes::default());
    }
});

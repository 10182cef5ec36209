//! Builds the DPDK shim when the `dpdk` feature is on; does nothing otherwise, so a build
//! without libdpdk-dev keeps working.

fn main() {
    #[cfg(feature = "dpdk")]
    dpdk::build();
}

#[cfg(feature = "dpdk")]
mod dpdk {
    /// The DPDK libraries the shim calls into; the drivers load at run time.
    const LIBS: [&str; 4] = ["rte_eal", "rte_ethdev", "rte_mbuf", "rte_mempool"];

    pub fn build() {
        println!("cargo:rerun-if-changed=src/dpdk/shim.c");
        let lib = match pkg_config::Config::new()
            .atleast_version("21.11")
            .cargo_metadata(false)
            .probe("libdpdk")
        {
            Ok(lib) => lib,
            Err(e) => {
                eprintln!(
                    "error: the `dpdk` feature needs DPDK's development files \
                     (Debian: apt-get install libdpdk-dev pkg-config): {e}"
                );
                std::process::exit(1);
            }
        };
        let mut cc = cc::Build::new();
        cc.file("src/dpdk/shim.c").warnings(false).opt_level(2);
        for dir in &lib.include_paths {
            cc.include(dir);
        }
        // `-include rte_config.h`, `-march=...`: DPDK's headers need them.
        for (k, v) in &lib.defines {
            cc.define(k, v.as_deref());
        }
        match std::process::Command::new("pkg-config")
            .args(["--cflags-only-other", "libdpdk"])
            .output()
        {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let mut words = text.split_whitespace();
                while let Some(w) = words.next() {
                    if w == "-include" {
                        if let Some(h) = words.next() {
                            cc.flag("-include").flag(h);
                        }
                    } else {
                        cc.flag(w);
                    }
                }
            }
            _ => {
                eprintln!("error: pkg-config --cflags-only-other libdpdk failed");
                std::process::exit(1);
            }
        }
        cc.compile("rovs_dpdk_shim");
        for dir in &lib.link_paths {
            println!("cargo:rustc-link-search=native={}", dir.display());
        }
        for l in LIBS {
            println!("cargo:rustc-link-lib=dylib={l}");
        }
    }
}

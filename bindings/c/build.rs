//! Gives the shared library the SONAME `libplasmite.so` on Linux (what plasmite 0.8.0's has), so
//! programs linked against it record that name rather than the build path.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libplasmite.so");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

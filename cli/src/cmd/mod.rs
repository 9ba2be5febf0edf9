//! The commands, one module each; every one parses its flags into a plain argument struct,
//! asks the engine (`plasmite_os`) to do the work, and formats what comes back.
//!
//! Spec: `spec/CLI.md` §2.

#[cfg(feature = "bridge")]
pub mod bridge;
pub mod completion;
pub mod doctor;
pub mod duplex;
pub mod feed;
pub mod fetch;
pub mod follow;
pub mod mcp;
pub mod pool;
pub mod tap;

use crate::args::Matches;
use crate::ui::Ui;
use plasmite_os::{Error, ErrorKind};
use std::path::Path;

/// Runs the command `m` names; its exit code.
pub fn run(m: &Matches, ui: &Ui, dir: &Path, argv: &[String]) -> Result<u8, Error> {
    match m.command.path {
        ["pool", _] => pool::run(m, ui, dir),
        ["feed"] => feed::run(m, ui, dir, argv),
        ["fetch"] => fetch::run(m, ui, dir),
        ["follow"] => follow::run(m, ui, dir, argv),
        ["duplex"] => duplex::run(m, ui, dir, argv),
        ["tap"] => tap::run(m, ui, dir, argv),
        ["doctor"] => doctor::run(m, ui, dir),
        ["completion"] => completion::run(m, ui),
        ["mcp"] => mcp::run(m, ui, dir),
        #[cfg(feature = "serve")]
        ["serve"] => crate::serve::run(m, ui, dir),
        #[cfg(not(feature = "serve"))]
        ["serve"] => Err(Error::new(
            ErrorKind::Usage,
            "this pls was built without the HTTP server",
        )
        .with_hint("Install a build with the `serve` feature (the default).")),
        #[cfg(feature = "bridge")]
        ["bridge", _] => bridge::run(m, ui, dir),
        #[cfg(not(feature = "bridge"))]
        ["bridge", _] => Err(Error::new(
            ErrorKind::Usage,
            "this pls was built without the NATS bridge",
        )
        .with_hint(
            "Install a build with the `bridge` feature: cargo install plasmite --features bridge.",
        )),
        ["version"] => version(ui),
        other => Err(Error::new(
            ErrorKind::Internal,
            format!("command '{}' has no handler", other.join(" ")),
        )),
    }
}

/// The product's name in version output, whichever name the program was run as (scripts
/// compare it with the reference's).
pub const PRODUCT: &str = "plasmite";

/// `pls version`: text on a terminal, JSON when piped.
fn version(ui: &Ui) -> Result<u8, Error> {
    let v = env!("CARGO_PKG_VERSION");
    if ui.stdout_tty {
        ui.print(format!("{PRODUCT} {v}\n").as_bytes())?;
    } else {
        ui.print(&ui.json(&serde_json::json!({"name": PRODUCT, "version": v})))?;
    }
    Ok(0)
}

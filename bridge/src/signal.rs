//! Waiting for the signal that stops a standalone bridge, for programs
//! (such as `charter bridge`) that have no runtime of their own.

use charter_core::{Error, ErrorKind, Result};

/// Blocks until the process gets SIGINT (Ctrl-C) or SIGTERM; returns the
/// signal's name.
pub fn wait_for_shutdown() -> Result<&'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot start a runtime to wait for signals: {e}")))?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot watch for signals: {e}"));
        let mut interrupt = signal(SignalKind::interrupt()).map_err(io)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(io)?;
        tokio::select! {
            _ = interrupt.recv() => Ok("SIGINT"),
            _ = terminate.recv() => Ok("SIGTERM"),
        }
    })
}

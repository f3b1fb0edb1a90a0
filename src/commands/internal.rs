//! The hidden commands srpc-check runs itself: a submission's worker inside its box, the
//! limits applied before a server starts, and a private loopback for tests.

use crate::error::{Error, Result};

/// Inside a submission's box: grade it and print the result as JSON.
#[cfg(target_os = "linux")]
pub(crate) fn grade_worker_command(spec: &str) -> Result<u8> {
    let spec: crate::grade::worker::WorkerSpec =
        serde_json::from_str(spec).map_err(|e| Error::Usage(format!("bad worker spec: {e}")))?;
    let result = crate::grade::worker::main(&spec).map_err(Error::Server)?;
    crate::report::write_stdout(&serde_json::to_string(&result).expect("result serialises"))?;
    Ok(crate::error::EXIT_OK)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn grade_worker_command(_: &str) -> Result<u8> {
    Err(Error::Usage("grade needs Linux".into()))
}

/// Applies the sandbox's limits and becomes the server's command.
#[cfg(target_os = "linux")]
pub(crate) fn jail_command(spec: &str, command: &[std::ffi::OsString]) -> Result<u8> {
    let spec: crate::sandbox::JailSpec =
        serde_json::from_str(spec).map_err(|e| Error::Usage(format!("bad jail spec: {e}")))?;
    let why = crate::sandbox::jail::exec(&spec, command);
    Err(Error::Server(format!("jail: {why}")))
}

#[cfg(target_os = "linux")]
pub(crate) fn net_box_command(command: &[std::ffi::OsString]) -> Result<u8> {
    let why = crate::sandbox::namespaces::exec_in_net_box(command);
    Err(Error::Server(format!("box: {why}")))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn net_box_command(_: &[std::ffi::OsString]) -> Result<u8> {
    Err(Error::Usage("the sandbox needs Linux".into()))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn jail_command(_: &str, _: &[std::ffi::OsString]) -> Result<u8> {
    Err(Error::Usage("the sandbox needs Linux".into()))
}

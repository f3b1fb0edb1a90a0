//! `srpc-check explain CODE`: one finding code in full.

use crate::codes::Code;
use crate::error::{Error, Result, EXIT_OK};
use crate::protocol::Protocol;
use crate::report::human;
use crate::report::write_stdout;

pub(crate) fn explain_command(code: &str, protocol: &Protocol) -> Result<u8> {
    let Some(code) = Code::parse(code) else {
        return Err(Error::Usage(format!(
            "'{code}' is not a finding code; `srpc-check list --findings{}` lists them",
            flag(protocol)
        )));
    };
    if !protocol.codes().contains(&code) {
        let of = crate::protocol::REGISTRY
            .iter()
            .find(|p| p.codes().contains(&code))
            .map_or("another protocol", |p| p.name);
        return Err(Error::Usage(format!(
            "'{code}' is a finding of {of}, not of {}; `srpc-check explain {code} --protocol {of}` explains it",
            protocol.name
        )));
    }
    write_stdout(&human::explain(protocol, code))?;
    Ok(EXIT_OK)
}

/// ` --protocol NAME` for any protocol but the default.
pub(crate) fn flag(protocol: &Protocol) -> String {
    if protocol.name == crate::protocol::default_name() {
        String::new()
    } else {
        format!(" --protocol {}", protocol.name)
    }
}

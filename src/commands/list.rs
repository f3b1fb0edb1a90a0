//! `srpc-check list`: the cases, or (`--findings`) the finding codes.

use crate::error::{Result, EXIT_OK};
use crate::protocol::Protocol;
use crate::report::write_stdout;

pub(crate) fn list_command(protocol: &Protocol) -> Result<u8> {
    let mut out = String::new();
    // The server's cases, then the client's (`srpc-check client`, where it can run).
    for k in crate::grade::case_keys(protocol, true) {
        out.push_str(&format!(
            "{:<36} {:<12} {}\n{:<49} requires: {}\n",
            k.id,
            k.group.name(),
            k.description,
            "",
            k.requirement
        ));
    }
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

pub(crate) fn list_findings_command(protocol: &Protocol) -> Result<u8> {
    let mut out = String::new();
    let mut area = "";
    for code in protocol.codes() {
        let info = protocol.info(code);
        if info.area != area {
            area = info.area;
            out.push_str(&format!(
                "{}{area}\n",
                if out.is_empty() { "" } else { "\n" }
            ));
        }
        out.push_str(&format!(
            "  {:<27} {:<8} {}\n",
            info.code,
            info.severity.name(),
            info.title
        ));
    }
    out.push_str(&format!(
        "\n`srpc-check explain CODE{}` explains one, with a wrong and a right example.\n",
        super::explain::flag(protocol)
    ));
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

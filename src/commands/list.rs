//! `srpc-check list`: the cases, or (`--findings`) the finding codes.

use crate::diagnose::Code;
use crate::error::{Result, EXIT_OK};
use crate::report::write_stdout;
use crate::suite;

pub(crate) fn list_command() -> Result<u8> {
    let mut out = String::new();
    let mut line = |id: &str, group: &str, description: &str, requirement: &str| {
        out.push_str(&format!(
            "{id:<36} {group:<12} {description}\n{:<49} requires: {requirement}\n",
            ""
        ));
    };
    for case in suite::all() {
        line(
            case.id,
            case.group.name(),
            case.description,
            case.requirement,
        );
    }
    // The client's cases (`srpc-check client`), after the server's.
    #[cfg(target_os = "linux")]
    for case in crate::client::cases() {
        line(case.id, "client", case.description, case.requirement);
    }
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

pub(crate) fn list_findings_command() -> Result<u8> {
    let mut out = String::new();
    let mut area = "";
    for &code in Code::ALL {
        let info = code.info();
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
    out.push_str("\n`srpc-check explain CODE` explains one, with a wrong and a right example.\n");
    write_stdout(&out)?;
    Ok(EXIT_OK)
}

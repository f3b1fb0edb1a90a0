//! `srpc-check explain CODE`: one finding code in full.

use crate::diagnose::Code;
use crate::error::{Error, Result, EXIT_OK};
use crate::report::human;
use crate::report::write_stdout;

pub(crate) fn explain_command(code: &str) -> Result<u8> {
    let Some(code) = Code::parse(code) else {
        return Err(Error::Usage(format!(
            "'{code}' is not a finding code; `srpc-check list --findings` lists them"
        )));
    };
    write_stdout(&human::explain(code))?;
    Ok(EXIT_OK)
}

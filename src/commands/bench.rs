//! `srpc-check bench`: load, one request per connection (see `crate::bench`).

use crate::bench::BenchOptions;
use crate::cli::{BenchArgs, ExecArgs, Format};
use crate::error::{Result, EXIT_OK};
use crate::report::{write_file, write_stdout};
use crate::server;

use super::{locate, runtime, target_name};

pub(crate) fn bench_command(args: BenchArgs) -> Result<u8> {
    let protocol = args.protocol.get();
    let opts = BenchOptions {
        protocol,
        connections: args.connections[0] as usize,
        duration: args.duration,
        value_bytes: args.value_bytes as usize,
        timeout: args.timeout,
        rate: args.rate,
        hold: args.hold as usize,
    };
    let resolve_first =
        |host: &str, port: u16| Ok(runtime()?.block_on(server::resolve(host, port))?[0]);
    let (addr, _server) = locate(protocol, args.target.as_ref(), &args.exec, resolve_first)?;
    let name = target_name(args.target.as_ref(), &args.exec);
    let no_exec = ExecArgs {
        exec: None,
        start_timeout: args.exec.start_timeout,
    };
    let compared = match &args.compare {
        Some(t) => Some((
            t.to_string(),
            locate(protocol, Some(t), &no_exec, resolve_first)?,
        )),
        None => None,
    };
    let text = if args.connections.len() == 1 && compared.is_none() {
        let report = crate::bench::run(&name, addr, &opts)?;
        match args.format {
            Format::Human => report.to_text(),
            Format::Json => {
                serde_json::to_string_pretty(&report).expect("report serialises") + "\n"
            }
        }
    } else {
        let levels: Vec<usize> = args.connections.iter().map(|&c| c as usize).collect();
        let b = compared.as_ref().map(|(n, (a, _))| (n.as_str(), *a));
        let sweep = crate::bench::sweep((&name, addr), b, &levels, &opts, 3)?;
        match args.format {
            Format::Human => sweep.to_text(),
            Format::Json => serde_json::to_string_pretty(&sweep).expect("report serialises") + "\n",
        }
    };
    if let Some(path) = &args.output {
        write_file(path, &text)?;
    }
    write_stdout(&text)?;
    Ok(EXIT_OK)
}

//! macOS's `KERN_PROCARGS2` buffer (a process's command line), parsed apart from the call that
//! reads it so that Linux runs its tests too.

/// The arguments out of a `KERN_PROCARGS2` buffer.
pub fn parse(buf: &[u8]) -> Option<Vec<String>> {
    let argc = i32::from_ne_bytes(buf.get(..4)?.try_into().ok()?);
    let rest = &buf[4..];
    // The executable's path, then NUL padding up to the first argument.
    let path_end = rest.iter().position(|&b| b == 0)?;
    let mut rest = &rest[path_end..];
    while let [0, tail @ ..] = rest {
        rest = tail;
    }
    Some(
        rest.split(|&b| b == 0)
            .take(usize::try_from(argc).ok()?)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn procargs_skip_the_path_and_its_padding() {
        let mut buf = 3i32.to_ne_bytes().to_vec();
        buf.extend_from_slice(b"/usr/bin/python3\0\0\0\0python3\0srpc_lab.py\0SERVER\0HOME=/x\0");
        assert_eq!(
            super::parse(&buf).unwrap(),
            ["python3", "srpc_lab.py", "SERVER"]
        );
        assert_eq!(super::parse(b"\x01\0"), None);
    }
}

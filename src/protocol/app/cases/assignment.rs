//! The lab 4 assignment's binary commands, double and negate (`struct.pack(">6si", ...)` both
//! ways), apart from the tutorial's own cases so that a course that teaches the plain tutorial
//! can `--skip 'assignment/*'`.

use std::time::Duration;

use super::super::codec::{self, py_bytes};
use super::{code, expect, send, AppCode, Kind};
use crate::suite::{Case, Ctx, Group, Status, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "assignment/double",
            group: Group::Assignment,
            description: "double 7654321 (the lab's sample run)",
            requirement: "struct.pack(\">6si\", b\"double\", 7654321) is answered struct.pack(\">6si\", b\"result\", 15308642), binary.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Command(b"double", 7654321)),
        },
        Case {
            id: "assignment/negate",
            group: Group::Assignment,
            description: "negate 7654321 (the lab's sample run)",
            requirement: "struct.pack(\">6si\", b\"negate\", 7654321) is answered struct.pack(\">6si\", b\"result\", -7654321).",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Command(b"negate", 7654321)),
        },
        Case {
            id: "assignment/negate-negative",
            group: Group::Assignment,
            description: "negate -300 (the lab's sample run)",
            requirement: "struct.pack(\">6si\", b\"negate\", -300) is answered struct.pack(\">6si\", b\"result\", 300).",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Command(b"negate", -300)),
        },
        Case {
            id: "assignment/double-out-of-range",
            group: Group::Assignment,
            description: "double 2000000000, whose result does not fit 32 bits",
            requirement: "The lab does not say; its code closes without a reply (struct.pack raises). A wrapped value is a warning; the server must stay up.",
            run: out_of_range,
        },
    ]
}

fn out_of_range(ctx: &mut Ctx) -> Verdict {
    let n = 2_000_000_000;
    let request = codec::command(b"double", n);
    let got = match send(ctx, &request, &[], Duration::ZERO, false) {
        Err(v) => return v,
        Ok(reply) => reply,
    };
    let after = super::still_serving(ctx);
    if after.status != Status::Pass {
        return after;
    }
    match got {
        Ok(m)
            if m.content.len() == 10
                && m.content.starts_with(b"result")
                && m.content[6..] == n.wrapping_mul(2).to_be_bytes() =>
        {
            let value = n.wrapping_mul(2);
            Verdict::new(
                Status::Warn,
                format!("double {n} (4000000000, outside 32 bits) was answered {value}: a wrapped value the client takes for the answer"),
            )
            .actual(py_bytes(&m.content))
            .because(code(AppCode::ResultOutOfRange), "refuse a result outside -2**31..2**31 rather than wrap it")
        }
        _ => Verdict::pass(),
    }
}

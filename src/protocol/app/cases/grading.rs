//! The lab's own sample runs of the tutorial's commands: search for each table entry and for a
//! missing one, and the plain binary reply.

use super::{expect, Kind};
use crate::suite::{Case, Ctx, Group, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "grading/search-morpheus",
            group: Group::Grading,
            description: "search morpheus",
            requirement: "{\"action\": \"search\", \"value\": \"morpheus\"} is answered {\"result\": \"Follow the white rabbit. \\U0001f430\"}, text/json, utf-8.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Search("morpheus")),
        },
        Case {
            id: "grading/search-ring",
            group: Group::Grading,
            description: "search ring",
            requirement: "search ring is answered {\"result\": \"In the caves beneath the Misty Mountains. \\U0001f48d\"}.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Search("ring")),
        },
        Case {
            id: "grading/search-dog-emoji",
            group: Group::Grading,
            description: "search for the dog emoji (U+1F436)",
            requirement: "search \\U0001f436 is answered {\"result\": \"\\U0001f43e Playing ball! \\U0001f3d0\"}: the query and the answer are non-ASCII.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Search("\u{1f436}")),
        },
        Case {
            id: "grading/search-missing",
            group: Group::Grading,
            description: "search for a value not in the table",
            requirement: "search Q for any Q not in the table is answered {\"result\": \"No match for \\\"Q\\\".\"}.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Search("neo")),
        },
        Case {
            id: "grading/binary-echo",
            group: Group::Grading,
            description: "a binary request (the lab's `binary \\U0001f603`)",
            requirement: "Any content type but text/json is binary; a binary request other than double or negate is answered b\"First 10 bytes of request: \" + request[:10], binary/custom-server-binary-type, binary.",
            run: |ctx: &mut Ctx| expect(ctx, Kind::Echo("binary\u{1f603}".as_bytes())),
        },
        Case {
            id: "grading/unknown-action",
            group: Group::Grading,
            description: "a text/json request with an action other than search",
            requirement: "{\"action\": A, ...} for any A but search is answered {\"result\": \"Error: invalid action \\\"A\\\".\"}.",
            run: unknown_action,
        },
    ]
}

fn unknown_action(ctx: &mut Ctx) -> Verdict {
    use super::super::codec::{self, py_bytes};
    use super::super::oracle;
    let request = codec::request(
        "text/json",
        "utf-8",
        br#"{"action": "find", "value": "ring"}"#,
    );
    let want = oracle::result_json("Error: invalid action \"find\".");
    match super::send(ctx, &request, &[], std::time::Duration::ZERO, false) {
        Err(v) => v,
        Ok(Err(e)) => super::no_reply(&e, ctx.settings.timeout),
        Ok(Ok(m)) => match super::check_message(&request, &m) {
            Some(v) => v,
            None if m.content == want => Verdict::pass(),
            None => Verdict::fail("the action find is not answered as an invalid action")
                .expected(py_bytes(&want))
                .actual(py_bytes(&m.content))
                .because(
                    super::code(super::AppCode::SearchWrong),
                    "any action but search is answered f'Error: invalid action \"{action}\".'",
                ),
        },
    }
}

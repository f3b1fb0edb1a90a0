//! The three scenarios the lab's autograder runs, with its value. Because they mirror the
//! autograder, a bug it would catch (such as state that does not persist) fails here as well as
//! in its own group.

use serde_json::Value;

use super::{judge, Case, Ctx, Group, Status, Verdict};
use crate::model::{self, json};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "grading/get-missing",
            group: Group::Grading,
            description: "GET of a name never stored",
            requirement: "A GET of a missing object answers status OK with \"val\": null (the lab's provided code).",
            run: get_missing,
        },
        Case {
            id: "grading/put",
            group: Group::Grading,
            description: "PUT of the lab's value {\"val1\": 111, \"val2\": 222}",
            requirement: "A PUT answers {\"status\": \"OK\", \"response\": {\"func\": \"PUT\", \"response\": {\"obj\": NAME, \"response\": \"ok\"}}}.",
            run: put,
        },
        Case {
            id: "grading/get-existing",
            group: Group::Grading,
            description: "GET of the lab's value after a PUT",
            requirement: "A GET of a stored object answers status OK with the stored value.",
            run: get_existing,
        },
    ]
}

fn lab_value() -> Value {
    json(r#"{"val1": 111, "val2": 222}"#)
}

fn get_missing(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let reply = match ctx.call(&model::get_request(&name)) {
        Ok(r) => r,
        Err(v) => return v,
    };
    if reply.json == model::error_reply() || reply.status().as_deref() == Some("ERROR") {
        let v = if ctx.settings.allow_missing_error {
            Verdict::new(
                Status::Pass,
                "answered ERROR, accepted by --allow-missing-error",
            )
        } else {
            Verdict::fail("a GET of a missing name was answered with ERROR")
                .hint("the lab's test comments this call \"Should be Error\", but the provided code the autograder runs answers {\"obj\": NAME, \"val\": null}; return dictionary.get(name) (or pass --allow-missing-error if your course wants ERROR)")
        };
        return v
            .expected(model::get_reply(&name, &Value::Null).to_string())
            .actual(reply.json.to_string());
    }
    judge(&model::get_reply(&name, &Value::Null), &reply.json)
}

fn put(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    ctx.expect(
        &model::put_request(&name, &lab_value()),
        &model::put_reply(&name),
    )
}

fn get_existing(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    if let Err(v) = ctx.put(&name, &lab_value()) {
        return v;
    }
    ctx.expect_stored(&name, &lab_value())
}

//! What the store keeps: overwrites, persistence across connections, many keys, and exact
//! round-trips of every kind of JSON value.

use serde_json::Value;

use super::{Case, Ctx, Group, Status, Verdict};
use crate::protocol::srpc::oracle::json;

pub fn cases() -> Vec<Case> {
    let c = |id, description, requirement, run| Case {
        id,
        group: Group::State,
        description,
        requirement,
        run,
    };
    vec![
        c(
            "state/overwrite",
            "a second PUT replaces the first value",
            "PUT stores the new value in place of the old one; it does not merge them.",
            overwrite,
        ),
        c(
            "state/persistence",
            "a value PUT on one connection is there on the next",
            "The store outlives connections: every connection sees every earlier PUT.",
            persistence,
        ),
        c(
            "state/many-keys",
            "100 names stored, each read back",
            "The store keeps any number of objects, each under its own name.",
            many_keys,
        ),
        c(
            "state/integers",
            "integers round-trip exactly, beyond 64 bits",
            "Values come back exactly as stored; Python integers have no size limit.",
            integers,
        ),
        c(
            "state/floats",
            "floats round-trip exactly",
            "A float comes back as the same float (1.0 stays a float, 0.1 stays 0.1).",
            floats,
        ),
        c(
            "state/scalars",
            "null, true, false, numbers and strings as whole values",
            "Any JSON value can be stored, not just objects.",
            scalars,
        ),
        c(
            "state/unicode",
            "non-ASCII, astral characters and escapes round-trip",
            "Strings come back with the same characters, whatever the escapes used to send them.",
            unicode,
        ),
        c(
            "state/containers",
            "empty and deeply nested lists and objects round-trip",
            "Nested and empty containers come back unchanged.",
            containers,
        ),
        c(
            "state/empty-key",
            "the empty string as a name",
            "Any string is a valid name, the empty one included.",
            empty_key,
        ),
        c(
            "state/long-key",
            "a 2,000-character name",
            "Names of any length are valid.",
            long_key,
        ),
    ]
}

/// PUTs each value under its own fresh name, then checks each reads back.
fn round_trip(ctx: &mut Ctx, values: &[Value]) -> Verdict {
    let mut worst = Verdict::pass();
    for val in values {
        let name = ctx.key();
        if let Err(v) = ctx.put(&name, val) {
            return v;
        }
        let v = ctx.expect_stored(&name, val);
        match v.status {
            Status::Fail => return v,
            Status::Warn if worst.status == Status::Pass => worst = v,
            _ => {}
        }
    }
    worst
}

fn overwrite(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    for val in [
        json(r#"{"first": 1, "shared": "old"}"#),
        json(r#"{"second": 2, "shared": "new"}"#),
    ] {
        if let Err(v) = ctx.put(&name, &val) {
            return v;
        }
    }
    ctx.expect_stored(&name, &json(r#"{"second": 2, "shared": "new"}"#))
}

fn persistence(ctx: &mut Ctx) -> Verdict {
    let name = ctx.key();
    let val = json(r#"{"kept": [1, 2, 3]}"#);
    if let Err(v) = ctx.put(&name, &val) {
        return v;
    }
    ctx.expect_stored(&name, &val)
}

fn many_keys(ctx: &mut Ctx) -> Verdict {
    let names: Vec<Value> = (0..100).map(|_| ctx.key()).collect();
    for (i, name) in names.iter().enumerate() {
        if let Err(v) = ctx.put(name, &Value::from(i)) {
            return v;
        }
    }
    for (i, name) in names.iter().enumerate() {
        let v = ctx.expect_stored(name, &Value::from(i));
        if v.status != Status::Pass {
            return v;
        }
    }
    Verdict::pass()
}

fn integers(ctx: &mut Ctx) -> Verdict {
    round_trip(ctx, &[json("[0, -1, 111, 9223372036854775807, 9223372036854775808, -9223372036854775809, 18446744073709551616]"), json("1180591620717411303424"), json("-123456789012345678901234567890123456789")])
}

fn floats(ctx: &mut Ctx) -> Verdict {
    round_trip(ctx, &[json("[1.0, 0.1, -2.5, 1e+300, 1e-05, 0.0001, 1e+16, 1000000000000000.0, 5e-324, 1.7976931348623157e+308, -0.0]"), json("1.0"), json(r#"{"val1": 111.5}"#)])
}

fn scalars(ctx: &mut Ctx) -> Verdict {
    round_trip(
        ctx,
        &[
            json("true"),
            json("false"),
            json("0"),
            json("\"just a string\""),
            json("\"\""),
            json("[]"),
            json("{}"),
        ],
    )
}

fn unicode(ctx: &mut Ctx) -> Verdict {
    round_trip(
        ctx,
        &[
            json(r#""é""#),
            json(r#""\u00e9 \u65e5\u672c""#),
            json(r#""😀 astral""#),
            json(r#""\ud83d\ude00 as an escaped pair""#),
            json(r#""quotes \" backslash \\ slash \/ controls \b\f\n\r\t \u0000\u001f""#),
            json(r#""\u2028\u2029 and DEL \u007f""#),
            json(r#"{"ключ": "значение", "emoji 🎉": ["ü", "ß"]}"#),
        ],
    )
}

fn containers(ctx: &mut Ctx) -> Verdict {
    let deep_list = format!("{}1{}", "[".repeat(64), "]".repeat(64));
    let deep_obj = format!("{}true{}", r#"{"k": "#.repeat(64), "}".repeat(64));
    round_trip(
        ctx,
        &[
            json(
                r#"{"empty_obj": {}, "empty_list": [], "empty_str": "", "list_of_empties": [{}, [], ""]}"#,
            ),
            json(&deep_list),
            json(&deep_obj),
        ],
    )
}

fn empty_key(ctx: &mut Ctx) -> Verdict {
    // The empty name is shared by every run, so it gets a value unique to this one.
    let name = Value::String(String::new());
    let val = ctx.key();
    if let Err(v) = ctx.put(&name, &val) {
        return v;
    }
    ctx.expect_stored(&name, &val)
}

fn long_key(ctx: &mut Ctx) -> Verdict {
    let Value::String(base) = ctx.key() else {
        unreachable!("keys are strings")
    };
    // Long, but the request stays under 4 KiB: large requests are the fragment group's matter.
    let name = Value::String(format!("{base}-{}", "k".repeat(2_000)));
    if let Err(v) = ctx.put(&name, &Value::from("long")) {
        return v;
    }
    ctx.expect_stored(&name, &Value::from("long"))
}

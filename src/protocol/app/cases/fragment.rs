//! Requests that arrive in pieces: inside the 2-byte length, at every offset of the JSON header,
//! inside the content, a byte at a time, and a content large enough to take many reads. The
//! tutorial's reader buffers and parses each part once it is all there; a split anywhere must
//! be served exactly like the whole request.

use std::time::Duration;

use super::super::codec;
use super::{code, expect, expect_paced, expect_split, part_at, AppCode, Kind};
use crate::suite::{Case, Ctx, Group, Status, Verdict};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            id: "fragment/split-length",
            group: Group::Fragment,
            description: "the 2-byte length arrives one byte at a time",
            requirement: "The length is unpacked once both its bytes are in the buffer.",
            run: |ctx: &mut Ctx| split(ctx, Kind::Search("morpheus"), Where::Length),
        },
        Case {
            id: "fragment/split-header",
            group: Group::Fragment,
            description: "the request split at each offset of the JSON header",
            requirement: "The JSON header is decoded once all jsonheader_len bytes are in the buffer.",
            run: |ctx: &mut Ctx| split(ctx, Kind::Echo(b"binary request"), Where::Header),
        },
        Case {
            id: "fragment/split-content",
            group: Group::Fragment,
            description: "the request split at each offset of the content",
            requirement: "The content is used once all content-length bytes are in the buffer.",
            run: |ctx: &mut Ctx| split(ctx, Kind::Search("ring"), Where::Content),
        },
        Case {
            id: "fragment/byte-at-a-time",
            group: Group::Fragment,
            description: "a whole request sent one byte at a time",
            requirement: "A request in any number of pieces is served like the whole one.",
            run: byte_at_a_time,
        },
        Case {
            id: "fragment/large-content",
            group: Group::Fragment,
            description: "a search with a 200 KB value, in 64 KiB pieces",
            requirement: "A content larger than one recv(4096) is read whole; the reply (as large) is sent whole.",
            run: large,
        },
    ]
}

#[derive(Clone, Copy, PartialEq)]
enum Where {
    Length,
    Header,
    Content,
}

/// The whole request first: a split can only be blamed if the whole request is served.
fn whole_first(ctx: &mut Ctx, kind: Kind<'_>) -> Result<(), Verdict> {
    let v = expect(ctx, kind);
    if v.status == Status::Pass {
        Ok(())
    } else {
        Err(Verdict {
            message: format!("sent whole, before any split: {}", v.message),
            ..v
        })
    }
}

/// Sends `kind`'s request cut at `cuts`; a failure is the split's finding.
fn try_cuts(ctx: &mut Ctx, kind: Kind<'_>, cuts: &[usize], pause: Duration) -> Verdict {
    let request = kind.request();
    let v = expect_split(ctx, kind, cuts, pause);
    if v.status == Status::Pass {
        return v;
    }
    let first = cuts.first().copied().unwrap_or(0);
    let (c, part) = part_at(&request, first);
    Verdict {
        message: format!(
            "split at byte {first} ({part}), with {} between the pieces: {}",
            humantime::format_duration(pause),
            v.message
        ),
        ..v
    }
    .because(
        code(c),
        format!("served whole but not split {part}: each part must wait until all its bytes are in the buffer"),
    )
}

fn split(ctx: &mut Ctx, kind: Kind<'_>, place: Where) -> Verdict {
    if let Err(v) = whole_first(ctx, kind) {
        return v;
    }
    let request = kind.request();
    let (_, header_end, end) = codec::boundaries(&request).expect("a well-formed request");
    let pause = ctx.settings.split_pause;
    let cuts: Vec<usize> = match place {
        Where::Length => vec![1],
        Where::Header => (3..header_end).collect(),
        Where::Content => (header_end + 1..end).collect(),
    };
    // The first cut with the whole pause; the others (one connection each) with a short one,
    // which can only make a piece merge with the next, never make a correct server fail.
    let quick = (pause / 10).max(Duration::from_millis(2));
    for (n, &cut) in cuts.iter().enumerate() {
        let v = try_cuts(ctx, kind, &[cut], if n == 0 { pause } else { quick });
        if v.status != Status::Pass {
            return v;
        }
    }
    Verdict::pass()
}

fn byte_at_a_time(ctx: &mut Ctx) -> Verdict {
    let kind = Kind::Search("\u{1f436}");
    if let Err(v) = whole_first(ctx, kind) {
        return v;
    }
    let request = kind.request();
    let cuts: Vec<usize> = (1..request.len()).collect();
    let (_, header_end, end) = codec::boundaries(&request).expect("a well-formed request");
    // Watched, each byte goes out once the server has read the one before, whatever the
    // pause. Unwatched (a remote or portable run), the pause alone keeps the bytes apart, and a
    // millisecond is too short on a busy machine (a server that reads the 2-byte length too
    // soon would find both bytes at once and pass). The whole pause goes where a reader's
    // mistakes show, at the edges of the length, the header and the content; a millisecond
    // elsewhere keeps the request within the few seconds a server may give one (the whole
    // pause before each of 141 bytes would take 5.6 s).
    let watched = ctx.settings.watch.active();
    let split_pause = ctx.settings.split_pause;
    let edges = [1, 2, 3, header_end - 1, header_end, header_end + 1, end - 1];
    let pause_at = |offset: usize| {
        if watched || !edges.contains(&offset) {
            Duration::from_millis(1)
        } else {
            split_pause
        }
    };
    let v = expect_paced(ctx, kind, &cuts, &pause_at);
    if v.status == Status::Pass {
        return v;
    }
    // Which part's reading fails: one cut in each, with the whole pause.
    let pause = ctx.settings.split_pause;
    for cut in [1, (2 + header_end) / 2, (header_end + end) / 2] {
        let single = try_cuts(ctx, kind, &[cut], pause);
        if single.status != Status::Pass {
            return Verdict {
                message: format!("sent a byte at a time, and {}", single.message),
                ..single
            };
        }
    }
    v
}

fn large(ctx: &mut Ctx) -> Verdict {
    if let Err(v) = whole_first(ctx, Kind::Search("morpheus")) {
        return v;
    }
    let value = "x".repeat(200_000);
    let kind = Kind::Search(&value);
    let len = kind.request().len();
    let cuts: Vec<usize> = (1..).map(|n| n * 65536).take_while(|&c| c < len).collect();
    let v = expect_split(ctx, kind, &cuts, Duration::from_millis(5));
    if v.status == Status::Pass
        || matches!(v.finding, Some(c) if c != code(AppCode::ClosesWithoutReply))
    {
        return v;
    }
    v.because(
        code(AppCode::ContentPartialRead),
        "a content larger than one recv() must be gathered until content-length bytes are in",
    )
}

//! srpc's default rubrics.

/// What `--print-rubric` shows and what `grade` uses without `--rubric`.
pub const DEFAULT: &str = r#"# srpc-check rubric. Each [[item]] shares its `points` equally among the cases it matches
# (`cases`: id globs as `srpc-check list` prints them; or `group`: a whole group). A case
# belongs to the first item that matches it; a case no item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

# The lab's own autograder checks exactly these three replies.
[[item]]
name = "grading"
cases = ["grading/*"]
points = 60

[[item]]
name = "protocol"
group = "protocol"
points = 10

[[item]]
name = "state"
group = "state"
points = 10

[[item]]
name = "fragment"
group = "fragment"
points = 10

[[item]]
name = "concurrency"
group = "concurrency"
points = 5

[[item]]
name = "robust"
group = "robust"
points = 5
"#;

/// The default for lab 4 (`--protocol app`): the tutorial's own sample runs and the
/// assignment's double and negate carry most of the points.
/// The default when `grade --client-exec` adds the client cases: the server keeps most of the
/// points, the client gets its share.
pub const DEFAULT_WITH_CLIENT: &str = r#"# srpc-check rubric for servers and clients (grade --client-exec). Each [[item]] shares its
# `points` equally among the cases it matches (`cases`: id globs as `srpc-check list` prints
# them; or `group`: a whole group). A case belongs to the first item that matches it; a case no
# item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

# The lab's own autograder checks exactly these three replies.
[[item]]
name = "grading"
cases = ["grading/*"]
points = 50

[[item]]
name = "protocol"
group = "protocol"
points = 10

[[item]]
name = "state"
group = "state"
points = 10

[[item]]
name = "fragment"
group = "fragment"
points = 5

[[item]]
name = "concurrency"
group = "concurrency"
points = 5

[[item]]
name = "robust"
group = "robust"
points = 5

# The student's client (recv_message serves it too), with srpc-check as the server.
[[item]]
name = "client"
group = "client"
points = 15
"#;

/// The default of `srpc-check client --gradescope/--classroom`: the client cases alone.
pub const DEFAULT_CLIENT: &str = r#"# srpc-check rubric for a client (srpc-check client). Each [[item]] shares its `points`
# equally among the cases it matches (`cases`: id globs as `srpc-check list` prints
# them; or `group`). A case belongs to the first item that matches it.

# The replies as the lab's own client sees them on loopback.
[[item]]
name = "client basics"
cases = ["client/one-piece"]
points = 40

[[item]]
name = "client"
group = "client"
points = 60
"#;

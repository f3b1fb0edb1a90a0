//! lab 4's default rubrics.

/// The default for lab 4 servers.
pub const DEFAULT: &str = r#"# srpc-check rubric for lab 4 (--protocol app). Each [[item]] shares its `points` equally
# among the cases it matches (`cases`: id globs as `srpc-check list --protocol app` prints them;
# or `group`: a whole group). A case belongs to the first item that matches it; a case no item
# matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

# The tutorial's sample runs: search and the plain binary reply.
[[item]]
name = "grading"
group = "grading"
points = 40

# The lab 4 assignment: double and negate.
[[item]]
name = "assignment"
group = "assignment"
points = 25

[[item]]
name = "protocol"
group = "protocol"
points = 10

[[item]]
name = "fragment"
group = "fragment"
points = 10

[[item]]
name = "concurrency"
group = "concurrency"
points = 10

[[item]]
name = "robust"
group = "robust"
points = 5
"#;

/// The default when `grade --protocol app --client-exec` adds the client cases.
pub const DEFAULT_WITH_CLIENT: &str = r#"# srpc-check rubric for lab 4 servers and clients (--protocol app --client-exec). Each
# [[item]] shares its `points` equally among the cases it matches (`cases`: id globs as
# `srpc-check list --protocol app` prints them; or `group`: a whole group). A case belongs to
# the first item that matches it; a case no item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

[[item]]
name = "grading"
group = "grading"
points = 35

[[item]]
name = "assignment"
group = "assignment"
points = 20

[[item]]
name = "protocol"
group = "protocol"
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

# The student's client, with srpc-check as the server.
[[item]]
name = "client"
group = "client"
points = 20
"#;

/// The default of `srpc-check client --protocol app --gradescope/--classroom`.
pub const DEFAULT_CLIENT: &str = r#"# srpc-check rubric for a lab 4 client (srpc-check client --protocol app). Each [[item]]
# shares its `points` equally among the cases it matches (`cases`: id globs as
# `srpc-check list --protocol app` prints them; or `group`). A case belongs to the first item
# that matches it.

[[item]]
name = "client basics"
cases = ["client/whole"]
points = 40

[[item]]
name = "client"
group = "client"
points = 60
"#;

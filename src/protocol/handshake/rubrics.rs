//! The default rubrics of lab 3 (--protocol handshake).

pub const DEFAULT: &str = r#"# srpc-check rubric for lab 3 (--protocol handshake). Each [[item]] shares its `points`
# equally among the cases it matches (`cases`: id globs as `srpc-check list --protocol
# handshake` prints them; or `group`: a whole group). A case belongs to the first item that
# matches it; a case no item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

# The lab's own run: the id, the ack, and the two printed lines.
[[item]]
name = "grading"
group = "grading"
points = 50

[[item]]
name = "protocol"
group = "protocol"
points = 20

[[item]]
name = "fragment"
group = "fragment"
points = 5

[[item]]
name = "robust"
group = "robust"
points = 25
"#;

pub const DEFAULT_WITH_CLIENT: &str = r#"# srpc-check rubric for lab 3 servers and clients (--protocol handshake --client-exec). Each
# [[item]] shares its `points` equally among the cases it matches (`cases`: id globs as
# `srpc-check list --protocol handshake` prints them; or `group`: a whole group). A case
# belongs to the first item that matches it; a case no item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

[[item]]
name = "grading"
group = "grading"
points = 40

[[item]]
name = "protocol"
group = "protocol"
points = 15

[[item]]
name = "fragment"
group = "fragment"
points = 5

[[item]]
name = "robust"
group = "robust"
points = 15

# The student's client, with srpc-check as the server.
[[item]]
name = "client"
group = "client"
points = 25
"#;

pub const DEFAULT_CLIENT: &str = r#"# srpc-check rubric for a lab 3 client (srpc-check client --protocol handshake). Each
# [[item]] shares its `points` equally among the cases it matches (`cases`: id globs as
# `srpc-check list --protocol handshake` prints them; or `group`). A case belongs to the first
# item that matches it; a case no item matches is worth nothing.
# visibility (Gradescope): visible, after_due_date, after_published or hidden.

[[item]]
name = "client"
group = "client"
points = 100
"#;

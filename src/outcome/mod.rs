//! The run's data model, below everything that renders or grades it: the document of one run
//! (`doc`, also the `--format json` report and how a graded submission travels back from its
//! box), a class's rows (`class`), rubrics (`rubric`) and scores (`score`). Reporters render
//! these; the grader orchestrates runs and writes them; neither imports the other for them.

pub mod class;
pub mod doc;
pub mod reproducer;
pub mod rubric;
pub mod score;

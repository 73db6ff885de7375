//! One module per verb: each parses its arguments and runs.

pub mod delete;
pub mod inspect;
pub mod keygen;
pub mod open;
pub mod pull;
pub mod push;
pub mod seal;
pub mod sse_c;

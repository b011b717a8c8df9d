//! The words the benchmarks' streamed answers are made of, in turn.

pub const WORDS: [&str; 12] = [
    " The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    " and",
    " keeps",
    " running.",
];

//! SQL for tests that seed many rows in one statement (thousands of rows through the
//! worker's routes would take minutes, and the routes' own limits would refuse them).

/// SQL: the numbers `from` to `from + count - 1` as the rows of `seq(n)`, for an
/// `INSERT … SELECT … FROM seq` that follows it (`count` ≥ 1).
pub fn seq(from: u32, count: u32) -> String {
    format!(
        "WITH RECURSIVE seq(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM seq \
         WHERE n < {})",
        from + count - 1
    )
}

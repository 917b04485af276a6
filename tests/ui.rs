//! Compile-fail and pass cases of the macros. Bless with `TRYBUILD=overwrite cargo test --test ui`
//! and read every `.stderr` before committing it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/workflow/*.rs");
    t.compile_fail("tests/ui/tool/*.rs");
    t.compile_fail("tests/ui/tool-output/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

//! Compile-fail tests of `#[retry_on_deadlock]` (trybuild). Regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test -p txkit-macros --test retry_ui` and read them.

#[test]
fn retry_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/retry/*.rs");
}

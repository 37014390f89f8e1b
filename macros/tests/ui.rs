//! Compile-fail and pass tests of the macros (trybuild). Regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test -p txkit-macros --test ui` and read them.

#[test]
fn entity_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/entity/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

//! Compile-fail and pass tests of the macros (trybuild). Regenerate the `.stderr` files
//! with `TRYBUILD=overwrite cargo test -p txkit-macros --test ui` and read them.

#[test]
fn entity_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/entity/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

/// The session's borrow rules, as a user of derived entities meets them: objects lent out
/// by a session cannot outlive it, and one `get` lends one object at a time.
#[test]
fn session_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/session/*.rs");
}

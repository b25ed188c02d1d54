//! Every design in `examples/` compiles without a diagnostic, and its model is snapshotted.

mod support;

#[test]
fn examples() {
    let dir = support::root().join("examples");
    insta::glob!("..", "examples/*.arch", |path| {
        let name = path.file_name().unwrap().to_string_lossy();
        let compiled = support::compile_in(&dir, &name);
        assert!(
            compiled.diagnostics.is_empty(),
            "{name} has diagnostics:\n{}",
            support::render_all(&compiled)
        );
        let model = compiled.model.expect("a clean design has a model");
        insta::assert_json_snapshot!("model", model);
    });
}

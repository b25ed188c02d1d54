//! Every design in `examples/` (and its folders) compiles without a diagnostic; its model and its prediction
//! (at the design's lower replica bounds, as designed load) are snapshotted.

mod support;

#[test]
fn examples() {
    insta::glob!("..", "examples/**/*.arch", |path| {
        let (dir, name) = (
            path.parent().unwrap(),
            path.file_name().unwrap().to_string_lossy(),
        );
        let compiled = support::compile_in(dir, &name);
        assert!(
            compiled.diagnostics.is_empty(),
            "{name} has diagnostics:\n{}",
            support::render_all(&compiled)
        );
        let model = compiled.model.expect("a clean design has a model");
        insta::assert_json_snapshot!("model", model);
    });
}

#[test]
fn predictions() {
    insta::glob!("..", "examples/**/*.arch", |path| {
        let (dir, name) = (
            path.parent().unwrap(),
            path.file_name().unwrap().to_string_lossy(),
        );
        let compiled = support::compile_in(dir, &name);
        let model = compiled.model.expect("a clean design has a model");
        // As written (pins, else lower bounds), and with every range at its upper bound.
        let lower = kendall::queueing::Options {
            load: 1.0,
            ..Default::default()
        };
        let upper = kendall::queueing::Options {
            load: 1.0,
            replicas: model
                .services
                .iter()
                .filter_map(|s| s.replicas.map(|r| (s.name.clone(), r.max)))
                .collect(),
        };
        let run = |options: &kendall::queueing::Options| {
            let prediction = kendall::queueing::predict(&model, options).expect("traffic settles");
            let diagnostics: Vec<String> =
                kendall::queueing::report::diagnostics(&model, &prediction)
                    .iter()
                    .map(|d| format!("{} {}", d.code.id, d.message))
                    .collect();
            serde_json::json!({
                "prediction": kendall::queueing::report::to_json(&prediction),
                "diagnostics": diagnostics,
            })
        };
        insta::assert_json_snapshot!(
            "prediction",
            serde_json::json!({ "lower_bounds": run(&lower), "upper_bounds": run(&upper) })
        );
    });
}

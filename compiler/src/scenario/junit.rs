//! JUnit XML for CI systems, in the Jenkins dialect (its `junit-4.xsd`, which `.ci/run`
//! validates against): one test suite per design file, one test case per scenario. No
//! timestamps or durations, so that the same design gives the same bytes.

use super::Outcome;
use super::report::check;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use std::io;

/// The report for `files`, each with its system name and its scenarios' outcomes.
pub fn to_xml(files: &[(String, String, Vec<Outcome>)]) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut w, files).expect("writing to memory cannot fail");
    let mut xml = String::from_utf8(w.into_inner()).expect("the writer writes UTF-8");
    xml.push('\n');
    xml
}

fn write(w: &mut Writer<Vec<u8>>, files: &[(String, String, Vec<Outcome>)]) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let all = files.iter().flat_map(|(_, _, o)| o);
    let (tests, failures, errors) = counts(all);
    w.create_element("testsuites")
        .with_attributes([
            ("name", "kendall test"),
            ("tests", &tests.to_string()),
            ("failures", &failures.to_string()),
            ("errors", &errors.to_string()),
        ])
        .write_inner_content(|w| {
            for (file, system, outcomes) in files {
                suite(w, file, system, outcomes)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn suite(
    w: &mut Writer<Vec<u8>>,
    file: &str,
    system: &str,
    outcomes: &[Outcome],
) -> io::Result<()> {
    let (tests, failures, errors) = counts(outcomes.iter());
    w.create_element("testsuite")
        .with_attributes([
            ("name", file),
            ("tests", &tests.to_string()),
            ("failures", &failures.to_string()),
            ("errors", &errors.to_string()),
        ])
        .write_inner_content(|w| {
            for o in outcomes {
                case(w, system, o)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn case(w: &mut Writer<Vec<u8>>, system: &str, o: &Outcome) -> io::Result<()> {
    let assertions = o.checks.len().to_string();
    w.create_element("testcase")
        .with_attributes([
            ("name", o.name.as_str()),
            ("classname", system),
            ("assertions", &assertions),
        ])
        .write_inner_content(|w| {
            // The schema's order: error, then failure, then system-out.
            if let Some(e) = &o.error {
                w.create_element("error")
                    .with_attribute(("message", e.as_str()))
                    .write_empty()?;
            } else if !o.passed() {
                let failed: Vec<String> =
                    o.checks.iter().filter(|c| !c.passed).map(check).collect();
                w.create_element("failure")
                    .with_attribute(("message", failed.join("; ").as_str()))
                    .write_empty()?;
            }
            let mut out: Vec<String> = o.changes.clone();
            out.extend(o.checks.iter().map(check));
            w.create_element("system-out")
                .write_text_content(BytesText::new(&out.join("\n")))?;
            Ok(())
        })?;
    Ok(())
}

/// (tests, failures, errors).
fn counts<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> (usize, usize, usize) {
    outcomes.fold((0, 0, 0), |(t, f, e), o| {
        let error = o.error.is_some();
        let failure = !error && !o.passed();
        (t + 1, f + usize::from(failure), e + usize::from(error))
    })
}

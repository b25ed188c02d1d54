//! The registry of diagnostic codes. A code never changes meaning once released; each has a
//! page in `codes/CODE.md`, printed by `kendall explain CODE`. The page is embedded at build
//! time, so a code without a page does not compile.

use super::Severity;
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    pub page: &'static str,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

macro_rules! codes {
    ($( $name:ident = $id:literal $sev:ident $title:literal; )*) => {
        $(
            #[doc = $title]
            pub const $name: Code = Code {
                id: $id,
                severity: Severity::$sev,
                title: $title,
                page: include_str!(concat!("codes/", $id, ".md")),
            };
        )*
        /// Every code, in order.
        pub const ALL: &[Code] = &[$($name),*];
    };
}

codes! {
    NOT_UTF8 = "E0001" Error "file is not valid utf-8";
    EMPTY_FILE = "E0002" Error "file is empty";
    UNREADABLE_FILE = "E0003" Error "file cannot be read";

    UNEXPECTED_INPUT = "E0101" Error "unexpected input";
    UNTERMINATED_STRING = "E0102" Error "unterminated string";
    UNTERMINATED_COMMENT = "E0103" Error "unterminated block comment";
    UNCLOSED_DELIMITER = "E0104" Error "unclosed delimiter";
    UNMATCHED_DELIMITER = "E0105" Error "unmatched closing delimiter";
    INVALID_ESCAPE = "E0106" Error "invalid escape in a string";
    NESTING_TOO_DEEP = "E0107" Error "nesting too deep";
    SECOND_SYSTEM = "E0108" Error "more than one system in a file";

    UNKNOWN_MODULE = "E0201" Error "unknown module";
    UNKNOWN_IMPORT = "E0202" Error "unknown imported name";
    IMPORT_CYCLE = "E0203" Error "import cycle";
    UNKNOWN_TEMPLATE = "E0204" Error "unknown template";
    TEMPLATE_CYCLE = "E0205" Error "template cycle";

    DUPLICATE = "E0301" Error "duplicate definition";
    UNKNOWN_SERVICE = "E0302" Error "unknown service";
    UNKNOWN_ENDPOINT = "E0303" Error "unknown endpoint";
    AMBIGUOUS_TARGET = "E0304" Error "ambiguous call target";
    UNKNOWN_WORKLOAD = "E0305" Error "unknown workload";
    INVALID_K8S_NAME = "E0306" Error "not a valid kubernetes name";
    UNKNOWN_OPTION = "E0307" Error "unknown option";
    UNKNOWN_SETTING = "E0308" Error "unknown setting";
    MIXED_FORMS = "E0309" Error "short form mixed with endpoints";
    REPEATED_FIELD = "E0310" Error "field given twice";
    FIELD_NOT_ALLOWED = "E0311" Error "field does not apply here";
    MISSING_FIELD = "E0312" Error "required field missing";
    UNKNOWN_GPU_TYPE = "E0313" Error "time for a gpu type the service does not use";
    MISSING_GPU_TIME = "E0314" Error "gpu type without a time";

    MISSING_UNIT = "E0401" Error "missing unit";
    UNKNOWN_UNIT = "E0402" Error "unknown unit";
    WRONG_DIMENSION = "E0403" Error "wrong kind of quantity";
    UNEXPECTED_UNIT = "E0404" Error "unit on a plain number";

    RATIO_OUT_OF_RANGE = "E0501" Error "ratio out of range";
    VALUE_OUT_OF_RANGE = "E0502" Error "value out of range";
    EMPTY_RANGE = "E0503" Error "empty range";
    PERCENTILES_OUT_OF_ORDER = "E0504" Error "percentiles out of order";
    NOT_WHOLE = "E0505" Error "not a whole number";
    TIME_WITHOUT_DISTRIBUTION = "E0506" Error "time without a distribution";
    BATCH_MISMATCH = "E0507" Error "batching and batch time disagree";
    INVALID_DISTRIBUTION = "E0508" Error "invalid distribution";
    INVALID_STATISTIC = "E0509" Error "invalid statistic";
    INVALID_CHOICE = "E0510" Error "invalid choice";

    CALL_CYCLE = "E0601" Error "synchronous call cycle";
    OVERLOADED = "E0801" Error "station overloaded";
    DIVERGENT_LOAD = "E0802" Error "calls multiply load without bound";
    RETRY_STORM = "E0803" Error "retry storm";
    BAD_DATA_FILE = "E0701" Error "bad data file";

    UNREACHABLE_SERVICE = "W0601" Warning "unreachable service";
    UNUSED_TEMPLATE = "W0602" Warning "unused template";
    UNUSED_IMPORT = "W0603" Warning "unused import";
    NO_WORKLOADS = "W0604" Warning "system has no workloads";
    HIGH_UTILIZATION = "W0801" Warning "utilisation above 90%";
    OUTSIDE_MODEL_RANGE = "W0802" Warning "outside a model's validated range";
}

/// Looks a code up by its id, case-insensitively (`e0101` works).
pub fn lookup(id: &str) -> Option<Code> {
    ALL.iter().copied().find(|c| c.id.eq_ignore_ascii_case(id))
}

//! The tags and policy cases shared by the policy table test and the registry test.
#![allow(dead_code)]

/// The tag set the registry test pushes too: releases, pre-releases, `v`
/// prefixes, CI tags with timestamps, dates, non-padded numbers, and noise.
pub const TAGS: &[&str] = &[
    "1.2.3",
    "1.2.4-rc.1",
    "1.2.4-rc.2",
    "1.3.0-beta.1",
    "1.2.2",
    "v1.2.5",
    "1.10.0",
    "1.9.0",
    "2.0.0",
    "2.0.0-rc.1",
    "01.2.3",
    "1.2",
    "main-5f2c1a-1712",
    "main-a1b2c3-1800",
    "main-0d0e0f-999",
    "feature-x-ffffff-2000",
    "20240101",
    "20231231",
    "9",
    "10",
    "100",
    "latest",
    "stable",
    "RELEASE.2024-01-01",
];

/// (policy as YAML under the image, expected tag, why).
pub const CASES: &[(&str, &str, &str)] = &[
    (
        "    policy: {semver: {range: '>=1.2.0-0 <1.2.99'}}\n",
        "v1.2.5",
        "pre-releases are in, but 1.2.5 is above 1.2.4-rc.2",
    ),
    (
        "    policy: {semver: {range: '>=1.0.0'}}\n",
        "2.0.0",
        "the highest release; v1.2.5 counts as 1.2.5",
    ),
    (
        "    policy: {semver: {range: '~1.2'}}\n",
        "v1.2.5",
        "~1.2 is >=1.2.0 <1.3.0; a `v` prefix is accepted; release candidates are out without -0",
    ),
    (
        "    policy: {semver: {range: '>=1.2.0-0 <1.3.0'}}\n",
        "1.3.0-beta.1",
        "pre-releases are in (the range names one), and 1.3.0-beta.1 orders below 1.3.0, so `<1.3.0` admits it (Masterminds' rule, a known surprise)",
    ),
    (
        "    policy: {semver: {range: '>=1.2.4-0 <1.2.5'}}\n",
        "1.2.4-rc.2",
        "rc.2 above rc.1: numeric identifiers compare as numbers",
    ),
    (
        "    policy: {semver: {range: '^1.0'}}\n",
        "1.10.0",
        "1.10.0 above 1.9.0: numbers, not text; 1.3.0-beta.1 is a pre-release",
    ),
    (
        "    policy: {semver: {range: '>=2.0.0-0'}}\n",
        "2.0.0",
        "a release above its own release candidate",
    ),
    (
        "    policy: {semver: {range: '<1.2.3'}}\n",
        "1.2.2",
        "`01.2.3` and `1.2` are not strict semver and never count",
    ),
    (
        "    policy: {alphabetical: {order: asc}}\n",
        "v1.2.5",
        "byte order: lower-case letters sort after digits and upper-case",
    ),
    (
        "    policy: {alphabetical: {order: desc}}\n",
        "01.2.3",
        "desc picks the first in byte order",
    ),
    (
        "    policy: {numerical: {order: asc}}\n",
        "20240101",
        "numbers compare as numbers (100 > 10 > 9); non-numbers are skipped",
    ),
    (
        "    policy: {numerical: {order: desc}}\n",
        "1.2",
        "desc picks the smallest: 1.2 < 9",
    ),
    (
        "    policy: {numerical: {order: asc}}\n    filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts'}\n",
        "main-a1b2c3-1800",
        "Flux's CI pattern: the extracted timestamp orders; 1800 > 1712 > 999 (not padded)",
    ),
    (
        "    policy: {alphabetical: {}}\n    filterTags: {pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)$', extract: '$ts'}\n",
        "main-0d0e0f-999",
        "the same tags in text order: \"999\" > \"1800\"",
    ),
    (
        "    policy: {semver: {range: '>=1.0.0'}}\n    filterTags: {pattern: '^v(?P<v>.*)$', extract: '$v'}\n",
        "v1.2.5",
        "only v-prefixed tags pass the filter",
    ),
    (
        "    policy: {numerical: {}}\n    filterTags: {pattern: '^(?P<date>20[0-9]{6})$', extract: '${date}'}\n",
        "20240101",
        "dates as numbers with ${name} extraction",
    ),
    (
        "    policy: {alphabetical: {}}\n    filterTags: {pattern: '^RELEASE\\.(?P<d>.*)$', extract: 'x$d'}\n",
        "RELEASE.2024-01-01",
        "extraction with literal text around the group",
    ),
];

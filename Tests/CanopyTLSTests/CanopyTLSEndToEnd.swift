import Testing

/// The suites that start pebble, pebble-challtestsrv and named, one test at a time: a dozen CAs
/// and DNS servers starting at once on two shared cores made each other (and the rest of the suite)
/// miss their start-up deadlines.
@Suite(.serialized) struct CanopyTLSEndToEnd {}

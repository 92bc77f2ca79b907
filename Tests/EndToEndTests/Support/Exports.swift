// The shared test helpers (HTTP client, process runner, temporary folders) for every file here.
@_exported import CanopyTestSupport

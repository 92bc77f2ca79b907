import Testing

@testable import CanopyBuild

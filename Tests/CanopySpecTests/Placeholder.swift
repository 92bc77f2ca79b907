import Testing

@testable import CanopySpec

import Testing

@testable import CanopyControl

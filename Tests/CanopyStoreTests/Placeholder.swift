import Testing

@testable import CanopyStore

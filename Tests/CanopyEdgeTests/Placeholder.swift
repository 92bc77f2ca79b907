import Testing

@testable import CanopyEdge

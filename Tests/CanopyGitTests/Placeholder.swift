import Testing

@testable import CanopyGit

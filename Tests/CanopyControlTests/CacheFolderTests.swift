import Foundation
import Testing

@testable import CanopyControl

/// Issue 15: `Main` and `main` shared one build cache (it was keyed by the DNS label).
struct CacheFolderTests {
    @Test func branchesThatShareALabelHaveCachesOfTheirOwn() {
        let names = ["main", "Main", "MAIN", "feature/login", "feature-login", "feature_login", "a%2Fb", "a/b", "é"]
        let folders = names.map { Orchestrator.cacheFolderName(branch: $0) }
        #expect(Set(folders).count == names.count, "\(folders)")
        #expect(Orchestrator.cacheFolderName(branch: "main") == "main")
        #expect(Orchestrator.cacheFolderName(branch: "feature/login") == "feature%2Flogin")
        for folder in folders {
            #expect(!folder.contains("/") && folder != "." && folder != "..")
        }
    }

    @Test func longNamesStayDistinctAndFitOneFolderName() {
        let base = String(repeating: "Long/Branch-", count: 40)
        let a = Orchestrator.cacheFolderName(branch: base + "a")
        let b = Orchestrator.cacheFolderName(branch: base + "b")
        #expect(a != b)
        #expect(a.utf8.count <= 200 && b.utf8.count <= 200)
        #expect(a.contains("~"))
    }
}

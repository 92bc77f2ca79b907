import Testing

@testable import CanopyBuild

@Suite struct PathGlobTests {
    @Test func starStaysInsideOneSegment() {
        #expect(PathGlob("*.html").matches("index.html"))
        #expect(!PathGlob("*.html").matches("docs/index.html"))
        #expect(PathGlob("docs/*").matches("docs/a.txt"))
    }

    @Test func doubleStarCrossesSegments() {
        #expect(PathGlob("**/*").matches("a/b/c.txt"))
        #expect(PathGlob("**/*").matches("top.txt"))
        #expect(PathGlob("assets/**/*.png").matches("assets/a.png"))
        #expect(PathGlob("assets/**/*.png").matches("assets/x/y/a.png"))
        #expect(!PathGlob("assets/**/*.png").matches("other/a.png"))
        #expect(PathGlob("./**").matches("a/b"))
    }

    @Test func questionMarkIsOneCharacter() {
        #expect(PathGlob("a?.md").matches("a1.md"))
        #expect(!PathGlob("a?.md").matches("a12.md"))
        #expect(!PathGlob("a?.md").matches("a.md"))
    }
}

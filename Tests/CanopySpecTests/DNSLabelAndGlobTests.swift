import Foundation
import Testing

@testable import CanopySpec

@Suite("DNSLabel")
struct DNSLabelTests {
    static func isValidLabel(_ label: String) -> Bool {
        !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
            && label.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    @Test("capitals, slashes and underscores")
    func simple() {
        #expect(DNSLabel.make("feature/Login_Page") == "feature-login-page")
        #expect(DNSLabel.make("main") == "main")
        #expect(DNSLabel.make("--Release__2.0//") == "release-2-0")
        #expect(DNSLabel.make("a   b") == "a-b")
    }

    @Test("unicode is dropped to a valid label")
    func unicode() {
        let label = DNSLabel.make("café/Ünïcode-Zweig")
        #expect(Self.isValidLabel(label))
        #expect(label.hasPrefix("caf"))
        #expect(label.contains("zweig"))
    }

    @Test("a 70-character name keeps 63 characters at most, stays valid and keeps a hash")
    func long() {
        let name = "feature/" + String(repeating: "x", count: 62)
        #expect(name.count == 70)
        let label = DNSLabel.make(name)
        #expect(label.count <= 63)
        #expect(Self.isValidLabel(label))
        #expect(label.hasPrefix("feature-xxx"))
        // The tail is a hash of the whole name, not more x's from a plain cut.
        let tail = label.split(separator: "-").last.map(String.init) ?? ""
        #expect(tail.count == 10)
        #expect(tail.allSatisfy { $0.isHexDigit })
        #expect(tail != String(repeating: "x", count: 10))
        #expect(DNSLabel.make(name) == label)
    }

    @Test("two long names sharing a prefix get different labels")
    func distinct() {
        let prefix = "feature/" + String(repeating: "long-branch-name-", count: 4)
        let a = DNSLabel.make(prefix + "alpha")
        let b = DNSLabel.make(prefix + "beta")
        #expect(a != b)
        #expect(Self.isValidLabel(a) && Self.isValidLabel(b))
        #expect(a == DNSLabel.make(prefix + "alpha"))
    }

    @Test("a name with nothing usable still gives a valid, deterministic label")
    func empty() {
        for name in ["", "///", "日本語", "___"] {
            let label = DNSLabel.make(name)
            #expect(Self.isValidLabel(label), "\(name) → \(label)")
            #expect(DNSLabel.make(name) == label)
        }
        #expect(DNSLabel.make("日本語") != DNSLabel.make("中文"))
    }
}

@Suite("Glob")
struct GlobTests {
    @Test("**/* matches top-level and nested files")
    func globstar() {
        let g = Glob("**/*")
        #expect(g.matches("index.html"))
        #expect(g.matches("a/b/c.css"))
        let js = Glob("**/*.js")
        #expect(js.matches("app.js") && js.matches("static/js/app.js"))
        #expect(!js.matches("app.json"))
        let mid = Glob("assets/**/*.png")
        #expect(mid.matches("assets/a.png") && mid.matches("assets/x/y/a.png"))
        #expect(!mid.matches("other/a.png"))
    }

    @Test("a leading ./ is the folder itself (artifact patterns written as paths)")
    func leadingDotSlash() {
        #expect(Glob("./**").matches("a/b"))
        #expect(Glob("./dist/*.html").matches("dist/index.html"))
        #expect(!Glob("./dist/*.html").matches("dist/a/index.html"))
    }

    @Test("* stays within one segment")
    func star() {
        let g = Glob("*.html")
        #expect(g.matches("index.html"))
        #expect(!g.matches("docs/index.html"))
        #expect(Glob("docs/*").matches("docs/a"))
        #expect(!Glob("docs/*").matches("docs/a/b"))
    }

    @Test("? is one character, not a slash")
    func question() {
        #expect(Glob("v?.txt").matches("v1.txt"))
        #expect(!Glob("v?.txt").matches("v10.txt"))
        #expect(!Glob("a?b").matches("a/b"))
    }

    @Test("{a,b} alternatives")
    func braces() {
        let g = Glob("*.{css,js}")
        #expect(g.matches("a.css") && g.matches("a.js"))
        #expect(!g.matches("a.html"))
        #expect(Glob("{release,hotfix}/*").matches("hotfix/1"))
    }

    @Test("[a-z] classes and [!x] negation")
    func classes() {
        #expect(Glob("[a-c]x").matches("bx"))
        #expect(!Glob("[a-c]x").matches("dx"))
        #expect(Glob("[!x]y").matches("ay"))
        #expect(!Glob("[!x]y").matches("xy"))
        #expect(!Glob("[!x]y").matches("/y"))
    }

    @Test("feature/* is one level of branch names, feature/** any depth")
    func branches() {
        #expect(Glob("feature/*").matches("feature/login"))
        #expect(!Glob("feature/*").matches("feature/team/login"))
        #expect(Glob("feature/**").matches("feature/login"))
        #expect(Glob("feature/**").matches("feature/team/login"))
        #expect(!Glob("feature/**").matches("features/login"))
        #expect(!Glob("feature/*").matches("bugfix/login"))
        #expect(Glob("main").matches("main") && !Glob("main").matches("main2"))
    }

    @Test("nested alternatives and ** inside a segment")
    func nestedAndDeep() {
        let g = Glob("{docs,{img,css}}/*")
        #expect(g.matches("docs/a") && g.matches("img/a") && g.matches("css/a"))
        #expect(!g.matches("js/a"))
        #expect(Glob("**.js").matches("a/b/c.js") && Glob("**.js").matches("c.js"))
        #expect(!Glob("**.js").matches("c.json"))
        #expect(Glob("{unclosed").matches("{unclosed"))
    }
}

@Suite("Timestamp")
struct TimestampTests {
    @Test("UTC with milliseconds, read back with or without them")
    func formatAndParse() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.5)
        #expect(Timestamp.string(from: date) == "2023-11-14T22:13:20.500Z")
        #expect(Timestamp.date(from: "2023-11-14T22:13:20.500Z") == date)
        #expect(Timestamp.date(from: "2023-11-14T22:13:20Z") == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(Timestamp.date(from: "yesterday") == nil)
        // Tables and messages read it to the second; ACME servers write RFC 3339 with any
        // fraction and with offsets (RFC 9773's renewalInfo example: "2025-01-02T04:00:00Z").
        #expect(Timestamp.seconds(from: date) == "2023-11-14T22:13:20Z")
        #expect(Timestamp.date(from: "2023-11-14T23:13:20.5+01:00") == date)
        #expect(Timestamp.date(from: "2023-11-14T22:13:20.500000Z") == date)
        #expect(Timestamp.now().count == 24)
    }
}

/// Branch names made into DNS labels the way users expect: `feature/Login_Page` → `feature-login-page`.
public enum DNSLabel {
    /// Lowercase; every run of characters outside `[a-z0-9]` becomes one `-`; no `-` at either end;
    /// at most 63 characters. A name that must be cut (or that has nothing usable) keeps a 10-digit
    /// hash of the whole original name, so two long branches never share a label. Deterministic.
    public static func make(_ name: String) -> String {
        var label = ""
        var pendingDash = false
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if pendingDash && !label.isEmpty { label.append("-") }
                pendingDash = false
                label.unicodeScalars.append(scalar)
            } else {
                pendingDash = true
            }
        }
        if !label.isEmpty && label.count <= 63 { return label }
        let hash = hex10(fnv1a64(Array(name.utf8)))
        if label.isEmpty { return "b-" + hash }
        var head = String(label.prefix(52))
        while head.hasSuffix("-") { head.removeLast() }
        return head + "-" + hash
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func hex10(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        var v = value
        for _ in 0..<10 {
            out.append(digits[Int(v & 0xf)])
            v >>= 4
        }
        return String(out.reversed())
    }
}

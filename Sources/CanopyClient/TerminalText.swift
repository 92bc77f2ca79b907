import Foundation

/// A build's output made safe to print on a terminal: a build runs whatever its repository says,
/// and its escape sequences could rewrite the screen, the window title or the clipboard, or hide
/// lines. C0 controls (except newline and tab), DEL and the C1 controls (U+0080–U+009F, in UTF-8)
/// are printed as `\xHH`; everything else passes through. Chunks may split a character anywhere.
public struct TerminalText {
    public init() {}

    /// A 0xC2 lead byte held back at the end of the last chunk (a C1 control may follow).
    private var heldLead = false

    public mutating func escape(_ chunk: Data) -> Data {
        var out = Data()
        out.reserveCapacity(chunk.count)
        for byte in chunk {
            if heldLead {
                heldLead = false
                if (0x80...0x9F).contains(byte) {
                    Self.append(0xC2, to: &out)
                    Self.append(byte, to: &out)
                    continue
                }
                out.append(0xC2)
            }
            switch byte {
            case 0x0A, 0x09: out.append(byte)
            case 0x00..<0x20, 0x7F: Self.append(byte, to: &out)
            case 0xC2: heldLead = true
            default: out.append(byte)
            }
        }
        return out
    }

    /// What is still held back, at the end of the output.
    public mutating func finish() -> Data {
        defer { heldLead = false }
        return heldLead ? Data([0xC2]) : Data()
    }

    private static func append(_ byte: UInt8, to out: inout Data) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
    }
}

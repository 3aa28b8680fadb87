/// Line and whitespace handling on UTF-8 bytes. The Character-based equivalents (`split(separator:)`,
/// Foundation's `trimmingCharacters(in:)`) segment every grapheme and dominated the import's profile.
extension StringProtocol {
    /// The lines of the text, without their "\n" or "\r\n".
    var byteLines: [Substring] {
        let text = Substring(self)
        return text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { bytes in
            let line = Substring(bytes)
            return bytes.last == 0x0D ? line.dropLast() : line
        }
    }

    /// The text without ASCII spaces, tabs and line breaks at either end.
    var trimmingWhitespace: Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isASCIIWhitespace($0) }),
            let last = utf8.lastIndex(where: { !isASCIIWhitespace($0) })
        else { return "" }
        return Substring(utf8[first...last])
    }

    /// True when the text holds nothing but ASCII whitespace.
    var isBlank: Bool {
        utf8.allSatisfy(isASCIIWhitespace)
    }

    /// The text with every run of whitespace (line breaks included) turned into one space, trimmed.
    var collapsingWhitespace: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var pendingSpace = false
        for byte in utf8 {
            if isASCIIWhitespace(byte) {
                pendingSpace = !bytes.isEmpty
            } else {
                if pendingSpace { bytes.append(0x20) }
                pendingSpace = false
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@inline(__always)
func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == 0x0B || byte == 0x0C
}

import Crypto
import FabriqueJSON
import Foundation

/// Matrix's canonical JSON (the bytes that are signed): no whitespace, object keys sorted by code point,
/// whole numbers only, strings escaped only where JSON requires it (`"`, `\`, control characters, with
/// their short forms where JSON has one). `signatures` and `unsigned` are removed before signing.
enum CanonicalJSON {
    static func bytes(_ value: JSON) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    /// The bytes signed for `object`: itself without `signatures` and `unsigned`.
    static func signedBytes(_ object: JSON) -> [UInt8] {
        guard var fields = object.object else { return bytes(object) }
        fields["signatures"] = nil
        fields["unsigned"] = nil
        return bytes(.object(fields))
    }

    private static func write(_ value: JSON, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n):
            // Canonical JSON has integers only; a fraction is written as JSON writes it (never signed in practice).
            if n.rounded() == n, abs(n) < 9e15 { out += Array(String(Int64(n)).utf8) } else { out += Array("\(n)".utf8) }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (index, element) in a.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            // UTF-8 byte order is code point order.
            for (index, (key, element)) in o.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Matrix's base64: standard alphabet, no padding.
enum UnpaddedBase64 {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Accepts padded and unpadded text, and the URL-safe alphabet; nil when it is not base64.
    static func decode(_ text: String) -> [UInt8]? {
        var text = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text).map { [UInt8]($0) }
    }
}

/// Ed25519 signatures of others, checked with swift-crypto (libolm's check is malleable, CVE-2024-45193).
enum Ed25519 {
    /// Whether `object` (a device's keys, a one-time key…) carries a valid signature by `userID`'s key
    /// `ed25519:keyID`, whose public key is `publicKey` (unpadded base64).
    static func verify(_ object: JSON, userID: String, keyID: String, publicKey: String) -> Bool {
        guard let signature = object["signatures"]?[userID]?["ed25519:\(keyID)"]?.string,
            let signatureBytes = UnpaddedBase64.decode(signature),
            let keyBytes = UnpaddedBase64.decode(publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes)
        else { return false }
        return key.isValidSignature(signatureBytes, for: CanonicalJSON.signedBytes(object))
    }
}

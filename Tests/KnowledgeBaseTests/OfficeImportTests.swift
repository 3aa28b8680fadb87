import Foundation
import Testing
@testable import KnowledgeBase

/// Word (DOCX) and OpenDocument (ODT) files: their title, headings, paragraphs and lists imported; damaged,
/// encrypted and oversized ones skipped with their reason while the rest of the import goes on.
///
/// `Tests/Fixtures/knowledge/orchard.docx` and `verger.odt` were made with pandoc from our own text.
struct OfficeImportTests {
    static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures/knowledge")

    @Test(arguments: [
        ("orchard.docx", "A community orchard", "when are the trees pruned and the grass mown?", "Who looks after it", "February"),
        (
            "verger.odt", "Un verger partagé", "quand les bénévoles taillent-ils les arbres et fauchent-ils l'herbe ?", "Qui l’entretient",
            "février"
        ),
    ])
    func titleHeadingsAndTextAreImported(
        _ file: String, _ title: String, _ question: String, _ heading: String, _ word: String
    ) throws {
        let index = try makeIndex()
        let report = try index.importPaths([Self.fixtures.appendingPathComponent(file).path])
        #expect(report.skipped.isEmpty, "\(report.skipped)")
        let best = try #require(try index.search(question, limit: 1).results.first)
        #expect(best.document == title)
        #expect(best.heading.hasSuffix(heading), "\(best.heading)")
        #expect(best.text.contains(word))
        // The list items stay list items.
        #expect(best.text.contains("\n- "), "\(best.text)")
    }

    @Test func damagedEncryptedAndMislabelledFilesAreSkippedWithTheirReason() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // An encrypted Office document is an OLE compound file.
        try Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Array(repeating: 0, count: 512))
            .write(to: folder.url.appendingPathComponent("locked.docx"))
        try Data("just text".utf8).write(to: folder.url.appendingPathComponent("renamed.odt"))
        // A ZIP archive without the document's body.
        try StoredZip.make(["mimetype": Array("application/vnd.oasis.opendocument.text".utf8)])
            .write(to: folder.url.appendingPathComponent("hollow.odt"))
        // A ZIP archive cut in half.
        let whole = try Data(contentsOf: Self.fixtures.appendingPathComponent("orchard.docx"))
        try whole.prefix(whole.count / 2).write(to: folder.url.appendingPathComponent("cut.docx"))
        // Malformed XML in the body.
        try StoredZip.make(["word/document.xml": Array("<w:document><w:body></w:p></w:document>".utf8)])
            .write(to: folder.url.appendingPathComponent("broken.docx"))
        try folder.write("notes.md", "# Notes\n\nThe orchard needs a new fence.\n")
        let report = try makeIndex().importPaths([folder.url.path])
        #expect(report.added == 1)
        let reasons = Dictionary(uniqueKeysWithValues: report.skipped.map { (($0.path as NSString).lastPathComponent, $0.reason) })
        #expect(reasons["locked.docx"]?.contains("encrypted") == true, "\(reasons)")
        #expect(reasons["renamed.odt"]?.contains("not a OpenDocument text document") == true, "\(reasons)")
        #expect(reasons["hollow.odt"]?.contains("content.xml is missing") == true, "\(reasons)")
        #expect(reasons["cut.docx"]?.contains("not a Word document") == true, "\(reasons)")
        #expect(reasons["broken.docx"]?.contains("XML cannot be read") == true, "\(reasons)")
    }

    @Test func aPartLargerThanTheLimitIsRefusedBeforeItIsInflated() throws {
        let archive = try ZipArchive(Array(StoredZip.make(["big.xml": Array(repeating: 0x20, count: 4_096)])))
        #expect(throws: ZipArchive.Problem.tooLarge("big.xml")) { try archive.contents(of: "big.xml", limit: 1_024) }
        #expect(try archive.contents(of: "big.xml", limit: 8_192)?.count == 4_096)
        #expect(try archive.contents(of: "absent.xml", limit: 8_192) == nil)
    }
}

/// ZIP archives of stored (uncompressed) entries, written at test time.
enum StoredZip {
    static func make(_ files: [String: [UInt8]]) -> Data {
        var data: [UInt8] = []
        var directory: [UInt8] = []
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let offset = data.count
            let crc = crc32(content)
            let nameBytes = Array(name.utf8)
            data += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            data += le32(UInt32(content.count)) + le32(UInt32(content.count)) + le16(UInt16(nameBytes.count)) + le16(0)
            data += nameBytes + content
            directory += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc)
            directory += le32(UInt32(content.count)) + le32(UInt32(content.count)) + le16(UInt16(nameBytes.count))
            directory += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(offset)) + nameBytes
        }
        let start = data.count
        data += directory
        data += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(files.count)) + le16(UInt16(files.count))
        data += le32(UInt32(directory.count)) + le32(UInt32(start)) + le16(0)
        return Data(data)
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
